// Traffic protection for two agents. `npx portcullis -c examples/ratelimiting/gateway.config.ts`, then:
//   agent-alpha  key agent-alpha-demo-7d41
//   agent-beta   key agent-beta-demo-2c9e
// (demo keys: only their SHA-256 is in this file). Each agent may make 100 requests per minute through this
// listener, 10 `tools/call` of `echo` per minute, and have 4 requests in flight. Set REDIS_URL
// (e.g. redis://127.0.0.1:6379) to count in Redis, shared by every replica, instead of in this process.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'portcullis';

const everything = fileURLToPath(new URL('../../node_modules/@modelcontextprotocol/server-everything/dist/index.js', import.meta.url));

export default defineConfig({
  binds: [
    {
      port: 3500,
      address: '127.0.0.1',
      listeners: [
        {
          name: 'agents',
          // Listener policies: every route below shares them (and the per-agent budget).
          policies: {
            apiKey: {
              keys: [
                { name: 'agent-alpha', sha256: 'e2befdb4c5e8ad14981643e662744e76fc96efb888e386f259021065694d7c49' },
                { name: 'agent-beta', sha256: 'bbea2f01623f6d4af29a5a7d10c52b9219922be89dcf08585380648e1315abf7' },
              ],
            },
            rateLimit: {
              limits: [
                // The seed's "no single agent can make more than 100 requests per minute".
                { name: 'per-agent', key: ['subject'], rate: { limit: 100, windowMs: 60_000 } },
                // Inside MCP sessions: 10 calls of the echo tool per minute per agent; tools/list and other tools are free.
                { name: 'echo-calls', scope: 'message', methods: ['tools/call'], tools: ['echo'], key: ['subject'], rate: { limit: 10, windowMs: 60_000 } },
                { name: 'in-flight', key: ['subject'], concurrency: { limit: 4 } },
              ],
              store: process.env.REDIS_URL ? { redis: { url: process.env.REDIS_URL, prefix: 'example:' } } : 'local',
            },
          },
          routes: [
            {
              name: 'mcp',
              matches: [{ path: { pathPrefix: '/mcp' } }],
              backends: [{ mcp: { targets: [{ name: 'everything', stdio: { cmd: 'node', args: [everything, 'stdio'] } }] } }],
            },
            {
              name: 'hello',
              matches: [{ path: { exact: '/hello' } }],
              policies: { directResponse: { status: 200, body: 'hello\n', headers: { 'content-type': 'text/plain' } } },
            },
          ],
        },
      ],
    },
  ],
  // Ports of its own for the admin UI, and no readiness or stats server: every example runs beside the others
  // and beside `npm start` (15000, 15020, 15021).
  admin: { address: '127.0.0.1:3590' },
  readiness: { address: false },
  stats: { address: false },
});
