// MCP authorization as the spec describes it: the gateway is the OAuth 2.1 resource server in front of an MCP
// server. Start the authorization server (`node_modules/.bin/node examples/mcp-authentication/auth-server.ts`), then
// `npx portcullis -c examples/mcp-authentication/gateway.config.ts`. An MCP client that supports OAuth discovers
// everything from the 401: the protected-resource metadata, the authorization server, the token endpoint.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'portcullis';
import type { McpAuthenticationPolicy } from 'portcullis';

const port = Number(process.env.PORT ?? 3200);
const issuer = process.env.ISSUER ?? 'http://127.0.0.1:3300';
const everything = fileURLToPath(new URL('../../node_modules/@modelcontextprotocol/server-everything/dist/index.js', import.meta.url));

const auth: McpAuthenticationPolicy = {
  issuer,
  // The canonical URL of the MCP endpoint: tokens must name it as their audience.
  resource: process.env.MCP_RESOURCE ?? `http://127.0.0.1:${port}/mcp`,
  jwks: { url: `${issuer}/jwks` },
  scopesSupported: ['mcp:read', 'mcp:write'],
  resourceName: 'Portcullis example MCP server',
};

export default defineConfig({
  binds: [
    {
      port,
      address: '127.0.0.1',
      listeners: [
        {
          routes: [
            // Serves /.well-known/oauth-protected-resource and /.well-known/oauth-protected-resource/mcp.
            { name: 'oauth-metadata', matches: [{ path: { pathPrefix: '/.well-known/oauth-protected-resource' } }], policies: { mcpAuthentication: auth } },
            {
              name: 'mcp',
              matches: [{ path: { pathPrefix: '/mcp' } }],
              policies: { mcpAuthentication: auth, authorization: { rego: './policy/scopes.rego' } },
              backends: [{ mcp: { targets: [{ name: 'everything', stdio: { cmd: 'node', args: [everything, 'stdio'] } }] } }],
            },
          ],
        },
      ],
    },
  ],
  // Ports of its own for the admin UI, and no readiness or stats server: every example runs beside the others
  // and beside `npm start` (15000, 15020, 15021).
  admin: { address: '127.0.0.1:3290' },
  readiness: { address: false },
  stats: { address: false },
});
