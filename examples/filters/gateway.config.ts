// Filters: a custom filter denying requests, a custom filter rewriting an MCP tool result, and the ready-made
// PII redaction, tool-argument rules and tool pinning. Run `npx portcullis -c examples/filters/gateway.config.ts`,
// then:
//   curl -i localhost:3850/api                          -> 403 from require-tenant
//   curl -i -H 'x-tenant: acme' localhost:3850/api      -> 200
// and connect an MCP client to http://localhost:3850/mcp: calling `echo` with "mail me at jane@example.com"
// answers "Echo: mail me at [REDACTED:email] (checked by Portcullis)".
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'portcullis';

const everything = fileURLToPath(new URL('../../node_modules/@modelcontextprotocol/server-everything/dist/index.js', import.meta.url));

export default defineConfig({
  binds: [
    {
      port: 3850,
      address: '127.0.0.1',
      listeners: [
        {
          routes: [
            {
              name: 'api',
              matches: [{ path: { pathPrefix: '/api' } }],
              policies: {
                filters: [{ file: './filters/require-tenant.ts', config: { tenants: ['acme', 'globex'] }, timeoutMs: 20 }],
                directResponse: { status: 200, body: '{"ok":true}', headers: { 'content-type': 'application/json' } },
              },
            },
            {
              name: 'mcp',
              matches: [{ path: { pathPrefix: '/mcp' } }],
              policies: {
                filters: [{ file: './filters/annotate-echo.ts', config: { notice: '(checked by Portcullis)' }, failureMode: 'failClosed' }],
                piiRedaction: { kinds: ['email', 'phone', 'paymentCard', 'nationalId'] },
                toolArgumentRules: { rules: [{ tool: '*', deny: ['(?:^|/)\\.\\./'] }] },
                toolPinning: { mode: 'block' },
              },
              backends: [{ mcp: { targets: [{ name: 'everything', stdio: { cmd: process.execPath, args: [everything, 'stdio'] } }] } }],
            },
          ],
        },
      ],
    },
  ],
  // Ports of its own for the admin UI, and no readiness or stats server: every example runs beside the others
  // and beside `npm start` (15000, 15020, 15021).
  admin: { address: '127.0.0.1:3940' },
  readiness: { address: false },
  stats: { address: false },
});
