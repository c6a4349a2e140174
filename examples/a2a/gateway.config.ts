// Two A2A agents behind one listener, one read-only caller and one privileged caller.
// `node_modules/.bin/node examples/a2a/agents.ts` starts the agents (ports 3601, 3602); then
// `npx portcullis -c examples/a2a/gateway.config.ts` serves them at http://localhost:3600/agents/<name>.
//   reader  a2a-reader-demo-key   sees and uses summarize, search (research) and status (ops)
//   admin   a2a-admin-demo-key    sees and uses every skill
// (demo keys: only their SHA-256 is in this file; real keys come from `env` or `file`, see docs/policies.md, "Authentication").
import { defineConfig } from 'portcullis';

export default defineConfig({
  binds: [
    {
      port: 3600,
      address: '127.0.0.1',
      listeners: [
        {
          routes: [
            {
              name: 'agents',
              matches: [{ path: { pathPrefix: '/agents' } }],
              policies: {
                apiKey: {
                  header: 'x-api-key',
                  keys: [
                    { name: 'reader', sha256: '9a731193daad95239f4c6d94f39ea562a1a2368e1c969ddaed6b61993dc52988', roles: ['reader'] },
                    { name: 'admin', sha256: 'be07a2f5fabb08b0250061430a98f3947122da7a3ebca292c9f2ff689a67aeab', roles: ['admin'] },
                  ],
                },
                // Decides the HTTP request, every A2A message, and every skill shown in a card.
                authorization: { rego: './policy/authz.rego', data: './policy/skills.yaml' },
              },
              backends: [
                {
                  a2a: {
                    agents: [
                      { name: 'research', url: 'http://127.0.0.1:3601' },
                      { name: 'ops', url: 'http://127.0.0.1:3602' },
                    ],
                    // Webhooks the agents may be asked to call; anything else is refused.
                    pushNotifications: { allowedUrls: ['http://127.0.0.1:3609/hooks/'] },
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
  admin: { address: '127.0.0.1:3690' },
  readiness: { address: false },
  stats: { address: false },
});
