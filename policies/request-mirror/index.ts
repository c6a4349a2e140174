import { Agent, request } from 'undici';
import type { RequestMirrorPolicy } from '../../sdk-types/cel-rules.ts';
import { hostPortSchema, s } from '../../core/config/index.ts';
import type { PolicyDefinition } from '../../core/pipeline/index.ts';

/**
 * agentgateway's `requestMirror`: a copy of a share of the requests (`percentage`) is sent to another backend, as it
 * goes upstream (after rewrites); its answer is read and dropped, and its failure never touches the real request.
 * Only body-less requests are mirrored: a body is streamed once, to the real backend, never buffered for a copy.
 */
export const requestMirror: PolicyDefinition<RequestMirrorPolicy> = {
  name: 'requestMirror',
  phase: 'upstream',
  requires: ['http-forward'],
  schema: s.object({ backend: hostPortSchema, percentage: s.number({ min: 0, max: 100 }) }, { required: ['backend'] }),
  create(config, build) {
    const share = config.percentage ?? 100;
    const agent = new Agent({ connectTimeout: build.upstream.connectTimeoutMs, keepAliveTimeout: build.upstream.keepAliveTimeoutMs });
    const origin = `http://${config.backend}`;
    const log = build.logger;
    return {
      step(ctx, next) {
        if (ctx.body === undefined && share > 0 && Math.random() * 100 < share) {
          const headers: Record<string, string | string[]> = {};
          for (const [k, v] of Object.entries(ctx.requestHeaders)) if (v !== undefined) headers[k] = v;
          request(`${origin}${ctx.path}${ctx.search}`, { method: ctx.method as 'GET', headers, dispatcher: agent })
            .then((res) => res.body.dump())
            .catch((err: Error) => log.debug({ route: ctx.routeName, mirror: config.backend, err: err.message }, 'request mirror failed'));
        }
        return next();
      },
      close: () => agent.close(),
    };
  },
};
