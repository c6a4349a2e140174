import type { RequestRedirectPolicy } from '../../sdk-types/config.ts';
import { s } from '../../core/config/index.ts';
import type { PolicyDefinition } from '../../core/pipeline/index.ts';
import { pathRewriteSchema, rewritePath } from '../url-rewrite/index.ts';

/** Answers with a redirect built from the request, changing what the config names. */
export const requestRedirect: PolicyDefinition<RequestRedirectPolicy> = {
  name: 'requestRedirect',
  phase: 'directResponse',
  terminal: true,
  schema: s.object({
    scheme: s.literal('http', 'https'),
    authority: s.string({ nonEmpty: true }),
    path: pathRewriteSchema,
    status: s.literal(301, 302, 303, 307, 308),
  }),
  create(config) {
    const status = config.status ?? 302;
    return {
      step(ctx) {
        const scheme = config.scheme ?? ctx.scheme;
        const authority = config.authority ?? ctx.clientHeaders.host ?? '';
        const path = config.path ? rewritePath(config.path, ctx) : ctx.path;
        ctx.respond({ status, headers: { location: `${scheme}://${authority}${path}${ctx.search}`, 'content-length': '0' } });
      },
    };
  },
};
