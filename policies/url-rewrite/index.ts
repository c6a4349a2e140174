import type { PathRewrite, UrlRewritePolicy } from '../../sdk-types/config.ts';
import { s } from '../../core/config/index.ts';
import type { PolicyDefinition, RequestContext } from '../../core/pipeline/index.ts';

const path = s.string({ pattern: /^\//, patternHint: 'a path starting with "/"' });
export const pathRewriteSchema = s.object({ full: path, prefix: path }, { exactlyOne: ['full', 'prefix'] });

/** The new path: `full` replaces it; `prefix` replaces the part the route's `pathPrefix` matched. */
export function rewritePath(rewrite: PathRewrite, ctx: RequestContext): string {
  if ('full' in rewrite) return rewrite.full;
  const matched = ctx.matchedPrefix === undefined || ctx.matchedPrefix === '/' ? '' : ctx.matchedPrefix;
  const rest = ctx.path.slice(matched.length);
  if (rewrite.prefix.endsWith('/') && rest.startsWith('/')) return rewrite.prefix + rest.slice(1);
  if (rest === '' || rest.startsWith('/') || rewrite.prefix.endsWith('/')) return (rewrite.prefix + rest) || '/';
  return `${rewrite.prefix}/${rest}`;
}

/** Rewrites the path and `Host` sent upstream; the route was already chosen with the original ones. */
export const urlRewrite: PolicyDefinition<UrlRewritePolicy> = {
  name: 'urlRewrite',
  phase: 'requestRewrite',
  requires: ['http-forward'],
  schema: s.object({ authority: s.object({ full: s.string({ nonEmpty: true }) }, { required: ['full'] }), path: pathRewriteSchema }),
  create(config) {
    return {
      step(ctx, next) {
        if (config.path) ctx.path = rewritePath(config.path, ctx);
        if (config.authority) {
          ctx.authority = config.authority.full;
          ctx.requestHeaders.host = config.authority.full;
        }
        return next();
      },
    };
  },
};
