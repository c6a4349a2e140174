// The default configuration: `npm start` serves it. Edit it while the gateway runs: it reloads on save.
// Point an MCP client at http://localhost:3000/mcp (streamable HTTP) or http://localhost:3000/sse (legacy SSE):
// it sees server-everything, started over stdio by the gateway (it is a dependency, never downloaded at run time).
import { defineConfig } from 'portcullis';

export default defineConfig({
  binds: [
    {
      port: 3000,
      // Loopback only: the MCP endpoint then also refuses a non-loopback Host (DNS-rebinding protection). Use
      // '0.0.0.0' to serve other machines, and put authentication in front (see examples/authorization).
      address: '127.0.0.1',
      listeners: [
        {
          routes: [
            {
              name: 'welcome',
              matches: [{ path: { exact: '/' } }],
              policies: {
                directResponse: {
                  status: 200,
                  headers: { 'content-type': 'application/json' },
                  body: JSON.stringify({ portcullis: 'running', mcp: '/mcp', sse: '/sse', docs: 'see README.md to add routes and backends' }),
                },
              },
            },
            {
              name: 'mcp',
              matches: [{ path: { pathPrefix: '/mcp' } }, { path: { pathPrefix: '/sse' } }],
              policies: {
                // Lets browser-based MCP clients on this machine (e.g. the MCP Inspector) connect and read the
                // session id; a page from any other origin is refused (403 PCL_ERR_MCP_ORIGIN_FORBIDDEN).
                cors: {
                  allowOrigins: ['http://localhost:*', 'http://127.0.0.1:*'],
                  allowMethods: ['GET', 'POST', 'DELETE'],
                  allowHeaders: ['mcp-protocol-version', 'mcp-session-id', 'content-type', 'cache-control', 'authorization', 'last-event-id'],
                  exposeHeaders: ['Mcp-Session-Id'],
                },
              },
              backends: [
                {
                  mcp: {
                    targets: [
                      {
                        name: 'everything',
                        // `node` is the Node.js running the gateway; the path is relative to this file. The warm pool
                        // keeps one process ready and grows up to 8 while clients open sessions in a burst.
                        stdio: { cmd: 'node', args: ['node_modules/@modelcontextprotocol/server-everything/dist/index.js', 'stdio'], warmPoolMax: 8 },
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
});
