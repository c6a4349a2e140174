import type { CorsPolicy } from '../../sdk-types/config.ts';
import { s } from '../../core/config/index.ts';
import type { HeaderMap, PolicyDefinition, RequestContext } from '../../core/pipeline/index.ts';
import { originMatcher } from '../../core/routing/origin.ts';

const DEFAULT_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];

/** CORS: answers preflight requests itself and adds the CORS headers to every response, errors included. */
export const cors: PolicyDefinition<CorsPolicy> = {
  name: 'cors',
  phase: 'preflight',
  schema: s.object({
    allowOrigins: s.array(s.string({ nonEmpty: true })),
    allowMethods: s.array(s.string({ pattern: /^[A-Z]+$|^\*$/, patternHint: 'an upper-case HTTP method or "*"' })),
    allowHeaders: s.array(s.string({ nonEmpty: true })),
    exposeHeaders: s.array(s.string({ nonEmpty: true })),
    allowCredentials: s.boolean(),
    maxAge: s.number({ integer: true, min: 0 }),
  }),
  create(config) {
    const allowed = originMatcher(config.allowOrigins ?? []);
    const anyOrigin = (config.allowOrigins ?? []).includes('*') && !config.allowCredentials;
    const methods = (config.allowMethods ?? DEFAULT_METHODS).join(', ');
    const headers = config.allowHeaders?.join(', ');
    const expose = config.exposeHeaders?.join(', ');
    const maxAge = config.maxAge === undefined ? undefined : String(config.maxAge);

    const decorate = (target: HeaderMap, origin: string) => {
      target['access-control-allow-origin'] = anyOrigin ? '*' : origin;
      if (!anyOrigin) target.vary = target.vary ? `${target.vary}, Origin` : 'Origin';
      if (config.allowCredentials) target['access-control-allow-credentials'] = 'true';
    };

    return {
      async step(ctx: RequestContext, next) {
        const origin = ctx.clientHeaders.origin;
        if (origin === undefined) return next();
        const ok = allowed(origin);
        const requested = ctx.clientHeaders['access-control-request-method'];
        if (ctx.method === 'OPTIONS' && requested !== undefined) {
          // A preflight never reaches the backend; a disallowed origin gets no CORS headers, so the browser blocks.
          const h: HeaderMap = { 'content-length': '0' };
          if (ok) {
            decorate(h, origin);
            h['access-control-allow-methods'] = methods;
            const reqHeaders = ctx.clientHeaders['access-control-request-headers'];
            if (headers === '*' && reqHeaders) h['access-control-allow-headers'] = reqHeaders;
            else if (headers) h['access-control-allow-headers'] = headers;
            if (maxAge) h['access-control-max-age'] = maxAge;
          }
          ctx.respond({ status: 204, headers: h });
          return;
        }
        try {
          await next();
        } catch (err) {
          ctx.respondError(err);
        }
        if (ok && ctx.response) {
          decorate(ctx.response.headers, origin);
          if (expose) ctx.response.headers['access-control-expose-headers'] = expose;
        }
      },
    };
  },
};
