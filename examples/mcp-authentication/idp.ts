// The identity providers agentgateway's `config.yaml` of this example expects, on oidc-provider:
// - scenario A (and B): a spec-compliant authorization server, issuer http://localhost:9000, JWKS at
//   /.well-known/jwks.json, dynamic client registration, authorization code with PKCE, RFC 8707 resource indicators
//   (the token's audience is the MCP resource the client names);
// - scenario C: a stand-in for Keycloak 26 (which needs Java 21), issuer http://localhost:7080/realms/mcp, with
//   Keycloak's realm paths (`/realms/mcp/.well-known/openid-configuration`, `/protocol/openid-connect/{auth,token,certs}`)
//   and its non-standard registration path `/realms/mcp/clients-registrations/openid-connect`; like Keycloak, it
//   ignores RFC 8707 and puts the fixed audience `mcp_proxy` in its tokens (an audience mapper in mcp-realm.json).
// Both show a login form; the user is `testuser`, password `testpass` (Keycloak's realm of the example).
// Run: `node_modules/.bin/node examples/mcp-authentication/idp.ts` (the ports of agentgateway/config.yaml, or IDP_PORT,
// KEYCLOAK_PORT).
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

export interface Idp {
  issuer: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

export interface IdpOptions {
  port: number;
  host?: string;
  /** Host name in the issuer (agentgateway's example says `localhost`). @default host */
  issuerHost?: string;
  /** Path the provider is mounted at, e.g. `/realms/mcp`. @default '' */
  mount?: string;
  /** oidc-provider route overrides (relative to the mount). */
  routes?: Record<string, string>;
  /** The token audience for a resource indicator (undefined: the client named none); throw to refuse it. */
  audienceFor(resource: string | undefined): string;
  /** Scopes of the MCP resource, granted when asked for. */
  resourceScopes: string[];
  users?: Record<string, string>;
  accessTokenTTL?: number;
}

export const DEMO_USERS: Record<string, string> = { testuser: 'testpass' };

const page = (title: string, body: string) => `<!doctype html><html><head><title>${title}</title></head><body>${body}</body></html>`;
const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** One OpenID provider with a password login page and a consent page. */
export async function startIdp(options: IdpOptions): Promise<Idp> {
  const host = options.host ?? '127.0.0.1';
  const mount = options.mount ?? '';
  const users = options.users ?? DEMO_USERS;
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server = createServer((req, res) => handler!(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, resolve);
  });
  const port = (server.address() as AddressInfo).port;
  const issuer = `http://${options.issuerHost ?? host}:${port}${mount}`;
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'idp-key-1', use: 'sig', alg: 'RS256' };
  const provider = new Provider(issuer, {
    jwks: { keys: [signingKey] },
    routes: options.routes ?? {},
    scopes: ['openid', 'profile', 'offline_access', ...options.resourceScopes],
    claims: { openid: ['sub'], profile: ['name', 'preferred_username'] },
    pkce: { required: () => true },
    clientDefaults: { grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none' },
    findAccount: (_ctx: unknown, sub: string) => ({ accountId: sub, claims: () => ({ sub, preferred_username: sub, name: sub }) }),
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `${mount}/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      registration: { enabled: true },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => undefined,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx: unknown, resource: string) => ({
          scope: options.resourceScopes.join(' '),
          audience: options.audienceFor(resource),
          accessTokenFormat: 'jwt',
          accessTokenTTL: options.accessTokenTTL ?? 600,
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
  });
  const callback = provider.callback();
  const interaction = new RegExp(`^${mount}/interaction/([\\w-]+)(/login)?$`);

  handler = (req, res) => {
    const url = new URL(req.url ?? '/', 'http://idp.invalid');
    const m = interaction.exec(url.pathname);
    if (m) {
      void login(req, res, m[1], m[2] !== undefined).catch((err: Error) => {
        res.writeHead(400, { 'content-type': 'text/html' }).end(page('Error', `<p>${escape(err.message)}</p>`));
      });
      return;
    }
    if (mount && url.pathname.startsWith(mount)) {
      // Mounted like `app.use(mount, provider.callback())`: the provider sees the path below the mount.
      (req as IncomingMessage & { originalUrl?: string }).originalUrl = req.url;
      req.url = req.url!.slice(mount.length) || '/';
    }
    callback(req, res);
  };

  async function login(req: IncomingMessage, res: ServerResponse, uid: string, submitted: boolean): Promise<void> {
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== uid) throw new Error('interaction mismatch');
    if (details.prompt.name === 'consent') {
      if (!submitted) {
        res.writeHead(200, { 'content-type': 'text/html' }).end(page('Allow access', `<form method="post" action="${mount}/interaction/${uid}/login"><button type="submit">Allow</button></form>`));
        return;
      }
      // What the client asked for, granted: the scopes, the claims, the resources (RFC 8707) and their scopes.
      const missing = (details.prompt as unknown as { details: { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> } }).details;
      const Grant = (provider as unknown as { Grant: new (init: Record<string, unknown>) => any }).Grant;
      const session = (details as unknown as { session: { accountId: string } }).session;
      const grant = new Grant({ accountId: session.accountId, clientId: String(details.params.client_id) });
      if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
      if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
      for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
      const grantId = await grant.save();
      await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
      return;
    }
    if (!submitted) {
      res.writeHead(200, { 'content-type': 'text/html' }).end(
        page(
          'Sign in',
          `<form method="post" action="${mount}/interaction/${uid}/login"><input name="username" autofocus><input type="password" name="password"><button type="submit">Sign in</button></form>`,
        ),
      );
      return;
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    const username = form.get('username') ?? '';
    if (!(username in users) || users[username] !== form.get('password')) {
      res.writeHead(401, { 'content-type': 'text/html' }).end(page('Sign in', '<p>Invalid username or password.</p>'));
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: username } }, { mergeWithLastSubmission: false });
  }

  return {
    issuer,
    port,
    server,
    close: () =>
      new Promise((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

/** Scenario A's spec-compliant server: the audience is the resource the client names, if it is one of `resources`. */
export function startSpecCompliantIdp(options: { port: number; host?: string; issuerHost?: string; resources: string[]; scopes?: string[]; accessTokenTTL?: number }): Promise<Idp> {
  return startIdp({
    port: options.port,
    host: options.host,
    issuerHost: options.issuerHost,
    routes: { jwks: '/.well-known/jwks.json' },
    resourceScopes: options.scopes ?? ['read:all'],
    accessTokenTTL: options.accessTokenTTL,
    audienceFor(resource) {
      if (resource === undefined || !options.resources.includes(resource)) throw new Error(`unknown resource ${resource}`);
      return resource;
    },
  });
}

/** Scenario C's Keycloak stand-in: realm paths, the realm's registration path, the fixed audience `mcp_proxy`. */
export function startKeycloakStandIn(options: { port: number; host?: string; issuerHost?: string; realm?: string; audience?: string }): Promise<Idp> {
  return startIdp({
    port: options.port,
    host: options.host,
    issuerHost: options.issuerHost,
    mount: `/realms/${options.realm ?? 'mcp'}`,
    routes: {
      authorization: '/protocol/openid-connect/auth',
      token: '/protocol/openid-connect/token',
      jwks: '/protocol/openid-connect/certs',
      userinfo: '/protocol/openid-connect/userinfo',
      end_session: '/protocol/openid-connect/logout',
      revocation: '/protocol/openid-connect/revoke',
      registration: '/clients-registrations/openid-connect',
    },
    resourceScopes: [],
    // Keycloak has no RFC 8707: whatever the client names, the realm's audience mapper decides.
    audienceFor: () => options.audience ?? 'mcp_proxy',
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // The ports and realm are the ones agentgateway's config.yaml names (9000, 7080, realm mcp): read from it, so the
  // two cannot drift apart. IDP_PORT and KEYCLOAK_PORT override them.
  const yaml = readFileSync(new URL('./agentgateway/config.yaml', import.meta.url), 'utf8');
  const spec = /issuer: http:\/\/localhost:(\d+)\s*$/m.exec(yaml);
  const realm = /issuer: http:\/\/localhost:(\d+)\/realms\/(\w+)\s*$/m.exec(yaml);
  const gatewayPort = /^ {2}port: (\d+)/m.exec(yaml)?.[1];
  if (!spec || !realm || !gatewayPort) throw new Error('agentgateway/config.yaml does not name the issuers this script serves');
  const gateway = `http://localhost:${gatewayPort}`;
  const a = await startSpecCompliantIdp({ port: Number(process.env.IDP_PORT) || Number(spec[1]), host: '127.0.0.1', issuerHost: 'localhost', resources: [`${gateway}/stdio/mcp`, `${gateway}/remote/mcp`], scopes: ['read:all'] });
  const c = await startKeycloakStandIn({ port: Number(process.env.KEYCLOAK_PORT) || Number(realm[1]), host: '127.0.0.1', issuerHost: 'localhost', realm: realm[2] });
  console.log(`scenario A/B authorization server ${a.issuer}; Keycloak stand-in ${c.issuer} (user testuser / testpass)`);
}
