// A real OAuth 2.1 authorization server for the example, built on oidc-provider: it issues JWT access tokens
// bound to the MCP resource (RFC 8707 resource indicators) to agents that authenticate with client credentials.
// Run it with `node_modules/.bin/node examples/mcp-authentication/auth-server.ts` (port 3300, or AUTH_PORT).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

export interface AgentClient {
  clientId: string;
  clientSecret: string;
  /** Scopes the agent may ask for; they become its roles at the gateway (`scope` claim). */
  scope: string;
}

export interface AuthServer {
  issuer: string;
  server: Server;
  close(): Promise<void>;
}

/** The agents of the example. Demo secrets: a real deployment keeps them out of source control. */
export const DEMO_AGENTS: AgentClient[] = [
  { clientId: 'readonly-agent', clientSecret: 'readonly-demo-secret-5d2f8a', scope: 'mcp:read' },
  { clientId: 'data-ingest-agent', clientSecret: 'ingest-demo-secret-9c4e1b', scope: 'mcp:write' },
];

/** `resource` is the MCP endpoint tokens are for; `otherResources` may also get tokens (to show audience binding). */
export async function startAuthServer(options: { port: number; host?: string; resource: string; otherResources?: string[]; agents?: AgentClient[] }): Promise<AuthServer> {
  const host = options.host ?? '127.0.0.1';
  // Listen first: the issuer names the actual port, which port 0 only reveals once bound.
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server = createServer((req, res) => handler!(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, resolve);
  });
  const issuer = `http://${host}:${(server.address() as AddressInfo).port}`;
  const agents = options.agents ?? DEMO_AGENTS;
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'example-key-1', use: 'sig', alg: 'RS256' };
  const provider = new Provider(issuer, {
    clients: agents.map((a) => ({
      client_id: a.clientId,
      client_secret: a.clientSecret,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: a.scope,
    })),
    scopes: ['mcp:read', 'mcp:write'],
    jwks: { keys: [signingKey] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => options.resource,
        useGrantedResource: () => true,
        // Only the configured MCP resource gets tokens, as JWTs the gateway verifies offline.
        getResourceServerInfo: (_ctx: unknown, resourceIndicator: string) => {
          if (resourceIndicator !== options.resource && !options.otherResources?.includes(resourceIndicator)) throw new Error(`unknown resource ${resourceIndicator}`);
          return { scope: 'mcp:read mcp:write', audience: resourceIndicator, accessTokenFormat: 'jwt', accessTokenTTL: 600, jwt: { sign: { alg: 'RS256' } } };
        },
      },
    },
  });
  handler = provider.callback();
  return {
    issuer,
    server,
    close: () =>
      new Promise((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const port = Number(process.env.AUTH_PORT ?? 3300);
  const auth = await startAuthServer({ port, resource: process.env.MCP_RESOURCE ?? 'http://127.0.0.1:3200/mcp' });
  console.log(`authorization server ${auth.issuer} (agents: ${DEMO_AGENTS.map((a) => a.clientId).join(', ')})`);
}
