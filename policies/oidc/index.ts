import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import type { OidcPolicy } from '../../sdk-types/security.ts';
import { s } from '../../core/config/index.ts';
import { ErrorCodes, GatewayError } from '../../core/errors.ts';
import type { PolicyDefinition, RequestContext } from '../../core/pipeline/index.ts';
import { lazy } from '../../core/lazy.ts';
import { readSecret, secretSchema } from '../backend-auth/secret.ts';
import { CookieSealer, readCookie, setCookie } from './session.ts';

/**
 * Browser login with an OpenID provider (agentgateway's `oidc`): a request without a session is sent to the
 * provider (authorization code flow with PKCE S256, state and nonce); the provider sends the browser back to
 * `redirectURI`, where the gateway exchanges the code, validates the ID token (signature from the provider's JWKS,
 * issuer, audience, nonce: openid-client does it) and sets a sealed session cookie; later requests carry the ID
 * token's claims as the caller's identity, exactly as a verified JWT's (`jwt.sub`, `jwt.email` in CEL rules, the
 * Rego input's identity, header injection). The session ends when the ID token expires, or at `logoutPath`. The
 * gateway's cookies are removed from what is forwarded. The provider's metadata is fetched on the first login,
 * not at start, so a config loads while the provider is still coming up.
 */

const client = lazy<typeof import('openid-client')>('openid-client');
type Configuration = import('openid-client').Configuration;

const SESSION_COOKIE = 'pcl_oidc_session';
const TX_COOKIE = 'pcl_oidc_tx';
/** A login must come back within this time. */
const TX_TTL_S = 600;

interface Transaction {
  state: string;
  nonce: string;
  verifier: string;
  returnTo: string;
  exp: number;
}

interface Session {
  claims: Record<string, unknown>;
  /** Unix seconds. */
  exp: number;
}

const urlSchema = s.string({ pattern: /^https?:\/\/[^\s/]+/, patternHint: 'an absolute http(s) URL' });

export const oidc: PolicyDefinition<OidcPolicy> = {
  name: 'oidc',
  phase: 'authentication',
  schema: s.object(
    {
      issuer: urlSchema,
      clientId: s.string({ nonEmpty: true }),
      clientSecret: {
        describe: 'string or { secret | env | file }',
        check: (v, p, issues) => (typeof v === 'string' ? s.string({ nonEmpty: true }).check(v, p, issues) : secretSchema.check(v, p, issues)),
        jsonSchema: (ctx) => ({ anyOf: [{ type: 'string', minLength: 1 }, ctx.of(secretSchema, '')] }),
      },
      redirectURI: urlSchema,
      scopes: s.array(s.string({ nonEmpty: true, pattern: /^[^\s]+$/, patternHint: 'one scope, without spaces' })),
      cookieSecret: secretSchema,
      logoutPath: s.string({ pattern: /^\//, patternHint: 'a path starting with "/"' }),
      postLogoutRedirect: s.string({ nonEmpty: true }),
    },
    {
      required: ['issuer', 'clientId', 'clientSecret', 'redirectURI'],
      refine(v, path, issues) {
        const callback = new URL(v.redirectURI as string).pathname;
        if (v.logoutPath !== undefined && v.logoutPath === callback) issues.push({ path: `${path}.logoutPath`, message: `must differ from the callback path ${callback} (redirectURI)` });
      },
    },
  ),
  files: (config, baseDir) => [config.clientSecret, config.cookieSecret].flatMap((src) => (src !== undefined && typeof src !== 'string' && src.file !== undefined ? [resolve(baseDir, src.file)] : [])),
  create(config, build) {
    const clientSecret = typeof config.clientSecret === 'string' ? config.clientSecret : readSecret(config.clientSecret, build.baseDir, `${build.path}.clientSecret`);
    const cookieSecret = config.cookieSecret ? readSecret(config.cookieSecret, build.baseDir, `${build.path}.cookieSecret`) : clientSecret;
    const redirect = new URL(config.redirectURI);
    const callbackPath = redirect.pathname;
    const logoutPath = config.logoutPath ?? new URL('logout', redirect).pathname;
    const secure = redirect.protocol === 'https:';
    // Bound to this login's identity: a session of another issuer or client is not accepted here.
    const sealer = new CookieSealer(cookieSecret, createHash('sha256').update(`${config.issuer}\n${config.clientId}`).digest('hex'));
    const scope = ['openid', ...(config.scopes ?? []).filter((x) => x !== 'openid')].join(' ');

    let discovered: Promise<Configuration> | undefined;
    const provider = (): Promise<Configuration> => {
      discovered ??= (async () => {
        const oc = client();
        const insecure = new URL(config.issuer).protocol === 'http:';
        return oc.discovery(new URL(config.issuer), config.clientId, clientSecret, undefined, insecure ? { execute: [oc.allowInsecureRequests] } : undefined);
      })().catch((err: Error) => {
        discovered = undefined; // try again on the next login
        throw new GatewayError(ErrorCodes.OIDC_PROVIDER_FAILED, `cannot reach the OpenID provider ${config.issuer}: ${err.message}`, { cause: err });
      });
      return discovered;
    };

    const redirectTo = (ctx: RequestContext, location: string, cookies: string[]) => {
      ctx.respond({ status: 302, headers: { location, 'set-cookie': cookies, 'cache-control': 'no-store', 'content-length': '0' }, body: '' });
    };

    const startLogin = async (ctx: RequestContext) => {
      const oc = client();
      const configuration = await provider();
      const verifier = oc.randomPKCECodeVerifier();
      const tx: Transaction = { state: oc.randomState(), nonce: oc.randomNonce(), verifier, returnTo: ctx.path + ctx.search, exp: Math.floor(Date.now() / 1000) + TX_TTL_S };
      const url = oc.buildAuthorizationUrl(configuration, {
        redirect_uri: config.redirectURI,
        scope,
        state: tx.state,
        nonce: tx.nonce,
        code_challenge: await oc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      });
      redirectTo(ctx, url.href, [setCookie(TX_COOKIE, sealer.seal(tx), { secure, maxAgeS: TX_TTL_S })]);
    };

    const callback = async (ctx: RequestContext, query: URLSearchParams) => {
      const sealed = readCookie(ctx.clientHeaders.cookie, TX_COOKIE);
      const tx = sealed === undefined ? undefined : sealer.open<Transaction>(sealed);
      if (!tx || tx.exp < Date.now() / 1000) throw new GatewayError(ErrorCodes.OIDC_CALLBACK_INVALID, 'login callback without a login in progress in this browser (no valid transaction cookie): start again from the page you wanted');
      if (query.get('state') !== tx.state) throw new GatewayError(ErrorCodes.OIDC_CALLBACK_INVALID, 'login callback whose state is not the one this browser was sent with');
      const error = query.get('error');
      if (error !== null) throw new GatewayError(ErrorCodes.OIDC_CALLBACK_INVALID, `the OpenID provider refused the login: ${error}${query.get('error_description') ? ` (${query.get('error_description')})` : ''}`);
      const configuration = await provider();
      let claims: Record<string, unknown>;
      try {
        const tokens = await client().authorizationCodeGrant(configuration, new URL(`${config.redirectURI.split('?')[0]}${ctx.search}`), { pkceCodeVerifier: tx.verifier, expectedState: tx.state, expectedNonce: tx.nonce, idTokenExpected: true });
        claims = (tokens.claims() ?? {}) as Record<string, unknown>;
      } catch (err) {
        throw new GatewayError(ErrorCodes.OIDC_PROVIDER_FAILED, `the OpenID provider's answer to the code exchange was refused: ${(err as Error).message}`, { cause: err });
      }
      const exp = typeof claims.exp === 'number' ? claims.exp : Math.floor(Date.now() / 1000) + 3600;
      const session: Session = { claims, exp };
      ctx.log.info({ route: ctx.routeName, sub: claims.sub, policy: 'oidc' }, 'browser login');
      const returnTo = tx.returnTo.startsWith('/') && !tx.returnTo.startsWith('//') ? tx.returnTo : '/';
      redirectTo(ctx, returnTo, [setCookie(SESSION_COOKIE, sealer.seal(session), { secure, maxAgeS: exp - Date.now() / 1000 }), setCookie(TX_COOKIE, '', { secure, maxAgeS: 0 })]);
    };

    return {
      async step(ctx, next) {
        if (ctx.method === 'GET' && ctx.path === callbackPath) {
          const query = new URLSearchParams(ctx.search);
          if (query.has('state')) return callback(ctx, query);
        }
        if (ctx.path === logoutPath) {
          return redirectTo(ctx, config.postLogoutRedirect ?? '/', [setCookie(SESSION_COOKIE, '', { secure, maxAgeS: 0 })]);
        }
        // A CORS preflight carries no cookies; the cors policy answers it.
        if (ctx.method === 'OPTIONS' && ctx.clientHeaders.origin !== undefined && ctx.clientHeaders['access-control-request-method']) return next();
        const sealed = readCookie(ctx.clientHeaders.cookie, SESSION_COOKIE);
        const session = sealed === undefined ? undefined : sealer.open<Session>(sealed);
        if (session && session.exp > Date.now() / 1000) {
          const claims = session.claims;
          const roles = Array.isArray(claims.roles) ? claims.roles.filter((r): r is string => typeof r === 'string') : [];
          ctx.identity = { kind: 'jwt', subject: typeof claims.sub === 'string' ? claims.sub : '', roles, claims };
          stripGatewayCookies(ctx);
          return next();
        }
        return startLogin(ctx);
      },
    };
  },
};

/** The backend sees the browser's other cookies, never the gateway's session or transaction. */
function stripGatewayCookies(ctx: RequestContext): void {
  const header = ctx.requestHeaders.cookie;
  if (header === undefined) return;
  const kept = (Array.isArray(header) ? header.join('; ') : header)
    .split(';')
    .map((c) => c.trim())
    .filter((c) => c !== '' && !c.startsWith(`${SESSION_COOKIE}=`) && !c.startsWith(`${TX_COOKIE}=`));
  if (kept.length === 0) delete ctx.requestHeaders.cookie;
  else ctx.requestHeaders.cookie = kept.join('; ');
}
