// Per-user upstream credentials: the "notes" MCP server acts as the calling user, and no client ever holds a
// notes token. Start the services (`node_modules/.bin/node examples/per-user-credentials/services.ts`), then
// `npx portcullis -c examples/per-user-credentials/gateway.config.ts`. See README.md and docs/upstream-credentials.md.
import { defineConfig } from 'portcullis';

const idp = process.env.IDP_URL ?? 'http://127.0.0.1:3961';
const notes = process.env.NOTES_URL ?? 'http://127.0.0.1:3962';

export default defineConfig({
  binds: [
    {
      port: Number(process.env.PORT ?? 3960),
      address: '127.0.0.1',
      listeners: [
        {
          routes: [
            {
              // 1. An identity map: the caller's API key name picks its own notes token (a file per user).
              name: 'mapped',
              matches: [{ path: { pathPrefix: '/mapped' } }],
              policies: {
                apiKey: {
                  header: 'x-api-key',
                  // The keys are alice-demo-key, bob-demo-key and carol-demo-key (demo values), stored as SHA-256.
                  keys: [
                    { name: 'alice', sha256: '0572c17ed012b3efdf9df98db1718f225887132739b8da945d81ac5a7d1fea45' },
                    { name: 'bob', sha256: '3a1f6bae21de4f036f2aba80fce463677f1070f8bf81f0f475604cccd8e2d7f3' },
                    { name: 'carol', sha256: '05e17cacfd02d6850325b37f5cec8ca718ece990dae91990f6917effb1dd6b16' },
                  ],
                },
                backendAuth: {
                  prefix: 'Bearer ',
                  identityMap: { credentials: { alice: 'file://./secrets/alice.token', bob: 'file://./secrets/bob.token' }, fallback: 'deny' },
                },
                // Policies see whether the caller has a credential: carol is told so before anything is tried.
                authorization: { rules: ['upstreamCredentials.identityMap == true'] },
              },
              backends: [{ mcp: { targets: [{ name: 'notes', mcp: { url: `${notes}/mcp` } }] } }],
            },
            {
              // 2. Token exchange (RFC 8693): the caller's own token, verified here, is exchanged for one whose
              // audience is the notes service, cached per caller until it expires.
              name: 'exchanged',
              matches: [{ path: { pathPrefix: '/exchanged' } }],
              policies: {
                jwtAuth: { issuer: idp, audiences: ['portcullis-example'], jwks: { url: `${idp}/jwks` } },
                backendAuth: {
                  tokenExchange: {
                    tokenEndpoint: `${idp}/token`,
                    audience: 'urn:example:notes',
                    clientId: 'portcullis',
                    clientSecret: { secret: 'example-exchange-secret-3f9a' },
                    timeoutMs: 3000,
                  },
                },
              },
              backends: [{ mcp: { targets: [{ name: 'notes', mcp: { url: `${notes}/mcp` } }] } }],
            },
          ],
        },
      ],
    },
  ],
  // Ports of its own for the admin UI, and no readiness or stats server: every example runs beside the others.
  admin: { address: '127.0.0.1:3990' },
  readiness: { address: false },
  stats: { address: false },
});
