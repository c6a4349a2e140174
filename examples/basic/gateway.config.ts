// The basic MCP example: one stdio MCP server (server-everything) behind the gateway, served over streamable
// HTTP at /mcp and legacy SSE at /sse, with CORS for browser clients.
// Run from the repository root: `npx portcullis -c examples/basic/gateway.config.ts` (or the YAML twin,
// `npx portcullis -f examples/basic/config.yaml`), then point an MCP client at http://localhost:3050/mcp.
import { defineConfig } from 'portcullis';

export default defineConfig({
  binds: [
    {
      port: 3050,
      address: '127.0.0.1',
      listeners: [
        {
          routes: [
            {
              name: 'mcp',
              policies: {
                cors: {
                  allowOrigins: ['*'],
                  allowHeaders: ['mcp-protocol-version', 'content-type', 'cache-control'],
                  exposeHeaders: ['Mcp-Session-Id'],
                },
              },
              backends: [
                {
                  mcp: {
                    targets: [
                      {
                        name: 'everything',
                        // `cwd` is relative to this file: the repository root, where node_modules lives.
                        stdio: { cmd: 'node', args: ['node_modules/@modelcontextprotocol/server-everything/dist/index.js', 'stdio'], cwd: '../..' },
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
  admin: { address: '127.0.0.1:3090' },
  readiness: { address: false },
  stats: { address: false },
});
