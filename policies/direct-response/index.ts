import type { DirectResponsePolicy } from '../../sdk-types/config.ts';
import { s } from '../../core/config/index.ts';
import type { PolicyDefinition } from '../../core/pipeline/index.ts';

/** Answers with a fixed response; the body is encoded once at config load. */
export const directResponse: PolicyDefinition<DirectResponsePolicy> = {
  name: 'directResponse',
  phase: 'directResponse',
  terminal: true,
  schema: s.object(
    { status: s.number({ integer: true, min: 200, max: 599 }), body: s.string(), headers: s.record(s.string()) },
    { required: ['status'] },
  ),
  create(config) {
    const body = Buffer.from(config.body ?? '');
    const headers = Object.fromEntries(Object.entries(config.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    if (body.length > 0 && headers['content-type'] === undefined) headers['content-type'] = 'text/plain; charset=utf-8';
    headers['content-length'] = String(body.length);
    return {
      step(ctx) {
        ctx.respond({ status: config.status, headers: { ...headers }, body });
      },
    };
  },
};
