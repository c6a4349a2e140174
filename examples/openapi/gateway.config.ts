// A REST API served as MCP tools: the library's OpenAPI description (openapi.yaml) becomes one tool per
// operation. Start the service (`node_modules/.bin/node examples/openapi/service.ts`), then
// `npx portcullis -c examples/openapi/gateway.config.ts`, then the agent (`node_modules/.bin/node examples/openapi/agent.ts`).
// The spec file is watched: edit openapi.yaml and connected agents are told their tool list changed.
import { defineConfig } from 'portcullis';

const servicePort = Number(process.env.LIBRARY_PORT ?? 3701);

export default defineConfig({
  binds: [
    {
      port: Number(process.env.PORT ?? 3700),
      address: '127.0.0.1',
      listeners: [
        {
          routes: [
            {
              name: 'library',
              matches: [{ path: { pathPrefix: '/mcp' } }],
              policies: {
                // The service's API key is the gateway's, sent on every call to it: agents never hold it.
                backendAuth: { credential: { secret: 'library-demo-key' }, prefix: 'Bearer ' },
                timeout: { backendRequestTimeoutMs: 5000 },
                // Policies see the calls as tools: here, nobody may add a book by "Anonymous".
                toolArgumentRules: { rules: [{ tool: 'library_addBook', deny: ['^Anonymous$'] }] },
              },
              backends: [
                {
                  mcp: {
                    prefixMode: 'always',
                    targets: [
                      {
                        name: 'library',
                        openapi: {
                          schema: { file: './openapi.yaml' },
                          host: `127.0.0.1:${servicePort}`,
                          // Deleting is for people, not agents.
                          exclude: [{ tags: ['admin'] }],
                          overrides: { listBooks: { description: 'List the books of the library, optionally of one genre.' } },
                        },
                      },
                    ],
                  },
                },
              ],
            },
          ],
        },
      ],
    },
  ],
  // Ports of its own for the admin UI, and no readiness or stats server: every example runs beside the others
  // and beside `npm start` (15000, 15020, 15021).
  admin: { address: '127.0.0.1:3790' },
  readiness: { address: false },
  stats: { address: false },
});
