// Two agents, one MCP server, per-tool rules in Rego. `npx portcullis -c examples/authorization/gateway.config.ts`
// then connect an MCP client to http://localhost:3100/mcp with `Authorization: Bearer <key>`:
//   readonly-agent     ro-demo-6f1c2a9e4b7d        sees and calls only the tools that read
//   data-ingest-agent  ingest-demo-3b8e5d1f0a2c    sees and calls only the tool that writes
// (demo keys: only their SHA-256 is in this file; real keys come from `env` or `file`, see docs/policies.md, "Authentication").
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'portcullis';

const everything = fileURLToPath(new URL('../../node_modules/@modelcontextprotocol/server-everything/dist/index.js', import.meta.url));

export default defineConfig({
  binds: [
    {
      port: 3100,
      address: '127.0.0.1',
      listeners: [
        {
          routes: [
            {
              name: 'mcp',
              matches: [{ path: { pathPrefix: '/mcp' } }],
              policies: {
                apiKey: {
                  keys: [
                    { name: 'readonly-agent', sha256: '0894c22351444c12ae8840d45723f64142bbe9ceaa766590ce76cc30a50611d2', roles: ['readonly'] },
                    { name: 'data-ingest-agent', sha256: 'b3d9c0778d354e372cbcda18b8720efa4e8dfff23969b39046821193390cb66f', roles: ['ingest'] },
                  ],
                },
                // Decides the HTTP request and every MCP message; lists are filtered item by item.
                authorization: { rego: './policy/authz.rego', data: './policy/roles.yaml' },
              },
              backends: [{ mcp: { targets: [{ name: 'everything', stdio: { cmd: 'node', args: [everything, 'stdio'] } }] } }],
            },
          ],
        },
      ],
    },
  ],
  // Ports of its own for the admin UI, and no readiness or stats server: every example runs beside the others
  // and beside `npm start` (15000, 15020, 15021).
  admin: { address: '127.0.0.1:3190' },
  readiness: { address: false },
  stats: { address: false },
});
