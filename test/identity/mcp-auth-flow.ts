// What the mcp-auth tests share: an OAuth client provider for the SDK's authorization-code flow (kept in memory, as
// a desktop MCP client would keep it), and the user who logs in through the identity provider's own pages.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import { startPortcullis, type RunningGateway } from '../../core/server/index.ts';
import { createLogger } from '../../core/telemetry/index.ts';
import { builtinPolicies } from '../../policies/index.ts';
import { builtinBackends } from '../../core/gateway/backends.ts';
import { LogCapture, withoutWarmPool } from '../helpers/gateway.ts';

const SERVER_EVERYTHING = fileURLToPath(new URL('../../node_modules/@modelcontextprotocol/server-everything/dist/index.js', import.meta.url));

export const EXAMPLE_CONFIG = fileURLToPath(new URL('../../examples/mcp-authentication/agentgateway/config.yaml', import.meta.url));

/** The SDK's side of the flow: what a desktop MCP client stores between the 401 and the callback. */
export class MemoryOAuthClient implements OAuthClientProvider {
  info: OAuthClientInformationMixed | undefined;
  saved: OAuthTokens | undefined;
  verifier: string | undefined;
  authorizationUrl: URL | undefined;
  readonly redirectUrl: string;
  constructor(redirectUrl: string) {
    this.redirectUrl = redirectUrl;
  }
  get clientMetadata(): OAuthClientMetadata {
    return { client_name: 'portcullis-test-client', redirect_uris: [this.redirectUrl], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none' };
  }
  clientInformation() {
    return this.info;
  }
  saveClientInformation(info: OAuthClientInformationMixed) {
    this.info = info;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens: OAuthTokens) {
    this.saved = tokens;
  }
  redirectToAuthorization(url: URL) {
    this.authorizationUrl = url;
  }
  saveCodeVerifier(v: string) {
    this.verifier = v;
  }
  codeVerifier() {
    if (!this.verifier) throw new Error('no code verifier saved');
    return this.verifier;
  }
}

/**
 * The user: opens the authorization URL, follows the provider's redirects, fills its login form, and stops at the
 * client's redirect URI. Returns the authorization code. Bounded: a provider that loops is a failure.
 */
export async function logIn(authorizationUrl: URL, redirectUrl: string, user: { username: string; password: string }): Promise<string> {
  return (await logInForCallback(authorizationUrl, redirectUrl, user)).get('code')!;
}

/** Like {@link logIn}, returning every parameter of the callback (code, state, iss). */
export async function logInForCallback(authorizationUrl: URL, redirectUrl: string, user: { username: string; password: string }): Promise<URLSearchParams> {
  const jar = new Map<string, string>();
  let url = authorizationUrl.href;
  let method = 'GET';
  let body: string | undefined;
  for (let step = 0; step < 20; step++) {
    const headers: Record<string, string> = {};
    if (jar.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    if (body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
    const res = await fetch(url, { method, headers, body, redirect: "manual" });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const eq = pair.indexOf('=');
      jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
    if (res.status >= 300 && res.status < 400) {
      await res.body?.cancel();
      const next = new URL(res.headers.get('location')!, url);
      if (next.href.startsWith(redirectUrl)) {
        if (!next.searchParams.get('code')) throw new Error(`the provider redirected back without a code: ${next.search}`);
        return next.searchParams;
      }
      url = next.href;
      method = 'GET';
      body = undefined;
      continue;
    }
    const html = await res.text();
    const form = /<form[^>]*method="post"[^>]*action="([^"]+)"/i.exec(html);
    if (res.status !== 200 || !form) throw new Error(`the login stopped at ${url}: HTTP ${res.status} ${html.slice(0, 200)}`);
    url = new URL(form[1], url).href;
    method = 'POST';
    body = new URLSearchParams({ username: user.username, password: user.password }).toString();
  }
  throw new Error('the login did not come back to the client within 20 steps');
}

export interface RunningExample {
  running: RunningGateway;
  logs: LogCapture;
  /** `http://localhost:<port>`: the origin the config's resources name. */
  origin: string;
  close(): Promise<void>;
}

/**
 * Runs agentgateway's `examples/mcp-authentication/config.yaml` as written, with its ports moved: the gateway's 3000,
 * the authorization server's 9000 and Keycloak's 7080 become the ones the test's servers listen on; and its
 * `npx @modelcontextprotocol/server-everything` runs the installed package with node, skipping npx's resolution.
 */
export async function startAgentgatewayExample(ports: { gateway: number; idp: number; keycloak: number }): Promise<RunningExample> {
  let yaml = readFileSync(EXAMPLE_CONFIG, 'utf8');
  yaml = yaml
    .replaceAll('localhost:3000', `localhost:${ports.gateway}`)
    .replaceAll('localhost:9000', `localhost:${ports.idp}`)
    .replaceAll('localhost:7080', `localhost:${ports.keycloak}`)
    .replace(/^ {2}port: 3000$/m, `  port: ${ports.gateway}\n  address: 127.0.0.1`)
    // `npx <package>` resolves the package each time a session starts (~1 s of CPU); the same server, run directly.
    .replaceAll("- '@modelcontextprotocol/server-everything'\n              cmd: npx", `- '${SERVER_EVERYTHING}'\n              cmd: '${process.execPath}'`);
  if (/^ +cmd: npx$/m.test(yaml)) throw new Error('the example runs npx in a way this harness does not rewrite');
  const dir = mkdtempSync(join(tmpdir(), 'pcl-mcp-auth-'));
  const file = join(dir, 'config.yaml');
  writeFileSync(file, yaml);
  const logs = new LogCapture();
  const running = await startPortcullis({
    configFile: file,
    policies: builtinPolicies,
    backends: builtinBackends,
    watch: false,
    logger: createLogger({ level: 'debug', destination: logs.stream }),
    transform: (loaded) => withoutWarmPool({ ...loaded, config: { ...loaded.config, admin: { address: false }, readiness: { address: false }, telemetry: { ...loaded.config.telemetry, stats: { address: false } }, shutdown: { drainTimeoutMs: 500 } } }),
  });
  return { running, logs, origin: `http://localhost:${ports.gateway}`, close: () => running.close() };
}
