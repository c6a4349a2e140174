// Several MCP servers as one: tools, prompts and resources of every target merged, names prefixed with the
// target (`everything_echo`, `second_echo`), resource URIs rewritten so reads reach their owner. A target that
// fails is left out and restarted (failOpen) while the others keep serving. Set REMOTE_MCP_URL to add a
// streamable-HTTP server as a third target.
// Run from the repository root: `npx portcullis -c examples/multiplex/gateway.config.ts`.
import { defineConfig, type McpTarget } from 'portcullis';

const serverEverything = { cmd: 'node', args: ['node_modules/@modelcontextprotocol/server-everything/dist/index.js', 'stdio'], cwd: '../..' };
const remote: McpTarget[] = process.env.REMOTE_MCP_URL ? [{ name: 'remote', mcp: { url: process.env.REMOTE_MCP_URL } }] : [];

export default defineConfig({
  binds: [
    {
      port: 3800,
      address: '127.0.0.1',
      listeners: [
        {
          routes: [
            {
              name: 'multiplex',
              matches: [{ path: { pathPrefix: '/mcp' } }, { path: { pathPrefix: '/sse' } }],
              backends: [
                {
                  mcp: {
                    prefixMode: 'conditional',
                    failureMode: 'failOpen',
                    requestTimeoutMs: 30_000,
                    sessionIdleTimeoutMs: 15 * 60_000,
                    targets: [
                      { name: 'everything', stdio: { ...serverEverything, warmPool: 2 } },
                      { name: 'second', stdio: serverEverything },
                      ...remote,
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
  admin: { address: '127.0.0.1:3890' },
  readiness: { address: false },
  stats: { address: false },
});
