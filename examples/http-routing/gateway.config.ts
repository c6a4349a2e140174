// Plain HTTP routing: two API versions, header and path rewrites, CORS, a redirect, a health
// answer and timeouts. Start a demo upstream first (`node examples/http-routing/upstream.mjs`), then
// `npx portcullis -c examples/http-routing/gateway.config.ts`.
import { defineConfig } from 'portcullis';

const upstream = process.env.UPSTREAM ?? '127.0.0.1:9000';

export default defineConfig({
  binds: [
    {
      port: 8080,
      address: '127.0.0.1',
      listeners: [
        {
          policies: {
            // Listener-wide: every route answers browsers from the app's origin.
            cors: { allowOrigins: ['http://localhost:5173'], allowHeaders: ['content-type', 'authorization'] },
          },
          routes: [
            {
              name: 'health',
              matches: [{ path: { exact: '/healthz' } }],
              policies: { directResponse: { status: 200, body: 'ok' } },
            },
            {
              name: 'legacy',
              matches: [{ path: { pathPrefix: '/v0' } }],
              policies: { requestRedirect: { path: { prefix: '/api' }, status: 308 } },
            },
            {
              name: 'api-canary',
              // Requests that opt in with a header go to the canary path.
              matches: [{ path: { pathPrefix: '/api' }, headers: [{ name: 'x-canary', value: { exact: 'true' } }] }],
              policies: {
                urlRewrite: { path: { prefix: '/canary' } },
                requestHeaderModifier: { set: { 'x-route': 'canary' } },
              },
              backends: [{ host: upstream }],
            },
            {
              name: 'api',
              matches: [{ path: { pathPrefix: '/api' } }],
              policies: {
                timeout: { requestTimeoutMs: 5_000 },
                retry: { attempts: 2, backoffMs: 50 },
                requestHeaderModifier: { set: { 'x-route': 'api' }, remove: ['x-internal-debug'] },
                responseHeaderModifier: { set: { 'x-gateway': 'portcullis' } },
              },
              backends: [{ host: upstream, weight: 1 }],
            },
          ],
        },
      ],
    },
  ],
  // Ports of its own for the admin UI, and no readiness or stats server: every example runs beside the others
  // and beside `npm start` (15000, 15020, 15021).
  admin: { address: '127.0.0.1:8170' },
  readiness: { address: false },
  stats: { address: false },
});
