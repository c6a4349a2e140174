import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { exportSPKI, SignJWT, type JWTPayload } from 'jose';
import { echoUpstream, simpleConfig, startTestGateway, type TestGateway, type Upstream } from '../helpers/gateway.ts';
import { makeKey, sign, startJwksServer, type JwksServer, type SigningKey } from './jwks-server.ts';

const ISS = 'https://idp.test';
const AUD = 'portcullis-test';
const MCP_RESOURCE = 'https://mcp.test/mcp';
const HMAC_SECRET = 'hmac-secret-for-tests-0123456789abcdef';
const now = () => Math.floor(Date.now() / 1000);
const claims = (extra: JWTPayload = {}): JWTPayload => ({ iss: ISS, aud: AUD, sub: 'agent-1', iat: now(), exp: now() + 300, roles: ['readonly'], ...extra });

describe('jwtAuth', () => {
  let up: Upstream;
  let jwks: JwksServer;
  let gw: TestGateway;
  let rsa: SigningKey;
  let ec: SigningKey;
  let ed: SigningKey;
  let stranger: SigningKey;

  before(async () => {
    process.env.PCL_TEST_HMAC = HMAC_SECRET;
    [rsa, ec, ed, stranger] = await Promise.all([makeKey('rsa-1', 'RS256'), makeKey('ec-1', 'ES256'), makeKey('ed-1', 'EdDSA'), makeKey('rsa-1', 'RS256')]);
    jwks = await startJwksServer();
    jwks.set('/main', [rsa, ec, ed]);
    jwks.set('/rotating', [rsa]);
    jwks.set('/limited', [rsa]);
    up = await echoUpstream();
    const route = (name: string, jwtAuth: Record<string, unknown>) => ({
      name,
      matches: [{ headers: [{ name: 'x-ep', value: { exact: name } }] }],
      policies: { jwtAuth: { issuer: ISS, audiences: [AUD], ...jwtAuth } },
      backends: [{ host: up.host }],
    });
    gw = await startTestGateway(
      simpleConfig([
        route('main', { jwks: { url: jwks.url('/main') } }),
        route('rotating', { jwks: { url: jwks.url('/rotating'), minRefetchIntervalMs: 100 } }),
        route('limited', { jwks: { url: jwks.url('/limited'), minRefetchIntervalMs: 60_000 } }),
        route('hmac', { secret: { env: 'PCL_TEST_HMAC' } }),
        route('optional', { jwks: { inline: { keys: [rsa.jwk] } }, mode: 'optional' }),
        route('permissive', { jwks: { inline: { keys: [rsa.jwk] } }, mode: 'permissive' }),
        route('elsewhere', { jwks: { file: './jwks.json' }, token: { query: 'access_token', cookie: 'session' } }),
        route('passthrough', { jwks: { inline: { keys: [rsa.jwk] } }, passthrough: true }),
        route('down', { jwks: { url: 'http://127.0.0.1:9/jwks' } }),
        route('noexp', { jwks: { inline: { keys: [rsa.jwk] } }, requireExp: false }),
        {
          name: 'mcp',
          matches: [{ headers: [{ name: 'x-ep', value: { exact: 'mcp' } }] }],
          policies: { mcpAuthentication: { issuer: ISS, resource: MCP_RESOURCE, jwks: { inline: { keys: [rsa.jwk] } } } },
          backends: [{ host: up.host }],
        },
      ]),
      { files: { 'jwks.json': JSON.stringify({ keys: [rsa.jwk] }) } },
    );
  });
  after(async () => {
    await gw?.close();
    await up?.close();
    await jwks?.close();
  });

  async function call(ep: string, token?: string, init: { path?: string; headers?: Record<string, string> } = {}) {
    const headers: Record<string, string> = { 'x-ep': ep, ...init.headers };
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    const res = await fetch(`${gw.url()}${init.path ?? '/'}`, { headers });
    const text = await res.text();
    return { status: res.status, challenge: res.headers.get('www-authenticate'), json: JSON.parse(text) };
  }
  async function refused(ep: string, token: string | undefined, message: string, init?: { path?: string; headers?: Record<string, string> }) {
    const r = await call(ep, token, init);
    assert.equal(r.status, 401, JSON.stringify(r.json));
    assert.deepEqual(r.json, { error: { code: 'PCL_ERR_UNAUTHENTICATED', message } });
    return r;
  }

  it('accepts RS256, ES256 and EdDSA tokens from the JWKS and strips the token before forwarding', async () => {
    for (const key of [rsa, ec, ed]) {
      const r = await call('main', await sign(key, claims()));
      assert.equal(r.status, 200, `${key.alg}: ${JSON.stringify(r.json)}`);
      assert.equal(r.json.headers.authorization, undefined);
    }
  });

  it('refuses a missing token with a Bearer challenge', async () => {
    const r = await refused('main', undefined, 'missing bearer token');
    assert.equal(r.challenge, 'Bearer');
  });

  it('refuses an expired token', async () => {
    const r = await refused('main', await sign(rsa, claims({ exp: now() - 120, iat: now() - 600 })), 'token expired');
    assert.equal(r.challenge, 'Bearer error="invalid_token", error_description="token expired"');
  });

  it('accepts a token expired within the clock skew', async () => {
    assert.equal((await call('main', await sign(rsa, claims({ exp: now() - 5 })))).status, 200);
  });

  it('refuses a token that is not yet valid', async () => {
    await refused('main', await sign(rsa, claims({ nbf: now() + 600 })), 'token not yet valid');
  });

  it('refuses a token without exp by default, and accepts it with requireExp: false', async () => {
    const { exp: _, ...forever } = claims();
    const token = await sign(rsa, forever);
    const r = await refused('main', token, 'token has no expiry (exp claim missing)');
    assert.equal(r.challenge, 'Bearer error="invalid_token", error_description="token has no expiry (exp claim missing)"');
    assert.equal((await call('noexp', token)).status, 200);
    // requireExp: false does not weaken the other checks.
    await refused('noexp', await sign(rsa, claims({ exp: now() - 120, iat: now() - 600 })), 'token expired');
    assert.equal((await call('main', await sign(rsa, claims()))).status, 200, 'still serves');
  });

  it('refuses a token issued in the future beyond the clock skew, and accepts one within it', async () => {
    await refused('main', await sign(rsa, claims({ iat: now() + 600 })), 'token issued in the future (iat claim)');
    await refused('noexp', await sign(rsa, claims({ iat: now() + 120 })), 'token issued in the future (iat claim)');
    assert.equal((await call('main', await sign(rsa, claims({ iat: now() + 10 })))).status, 200, 'within the 30 s skew');
    await refused('main', await sign(rsa, claims({ iat: 'yesterday' as any })), 'token claim "iat" is invalid');
  });

  it('mcpAuthentication uses the same verifier: no exp and a future iat are refused there too', async () => {
    const mcpClaims = (extra: JWTPayload = {}) => claims({ aud: MCP_RESOURCE, ...extra });
    assert.equal((await call('mcp', await sign(rsa, mcpClaims()))).status, 200);
    const { exp: _, ...forever } = mcpClaims();
    await refused('mcp', await sign(rsa, forever), 'token has no expiry (exp claim missing)');
    await refused('mcp', await sign(rsa, mcpClaims({ iat: now() + 600 })), 'token issued in the future (iat claim)');
  });

  it('refuses a wrong issuer and a wrong audience', async () => {
    await refused('main', await sign(rsa, claims({ iss: 'https://evil.test' })), 'token issuer is not accepted');
    await refused('main', await sign(rsa, claims({ aud: 'someone-else' })), 'token audience is not accepted');
  });

  it('refuses an unknown kid and a signature by another key with the same kid', async () => {
    const other = await makeKey('unknown-kid');
    await refused('main', await sign(other, claims()), 'no signing key matches the token');
    await refused('main', await sign(stranger, claims()), 'token signature is invalid');
  });

  it('refuses alg "none"', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    const body = Buffer.from(JSON.stringify(claims())).toString('base64url');
    await refused('main', `${header}.${body}.`, 'unsigned tokens (alg "none") are never accepted');
  });

  it('refuses an HS256 token signed with the RSA public key (RS/HS confusion)', async () => {
    const pem = await exportSPKI(rsa.publicKey);
    const forged = await new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', kid: rsa.kid }).sign(new TextEncoder().encode(pem));
    await refused('main', forged, 'token algorithm "HS256" is not allowed');
  });

  it('refuses malformed tokens and malformed headers', async () => {
    await refused('main', 'not-a-jwt', 'malformed token');
    await refused('main', 'a.b.c', 'malformed token');
    await refused('main', undefined, 'the authorization header must be "Bearer <token>"', { headers: { authorization: 'Basic YTpi' } });
  });

  it('picks up a rotated key by re-fetching the JWKS on an unknown kid', async () => {
    assert.equal((await call('rotating', await sign(rsa, claims()))).status, 200);
    const fetched = jwks.fetches('/rotating');
    const next = await makeKey('rsa-2');
    jwks.set('/rotating', [next]);
    await new Promise((r) => setTimeout(r, 150));
    const r = await call('rotating', await sign(next, claims()));
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(jwks.fetches('/rotating'), fetched + 1);
  });

  it('re-fetches on unknown kids at a bounded rate', async () => {
    assert.equal((await call('limited', await sign(rsa, claims()))).status, 200);
    const fetched = jwks.fetches('/limited');
    for (let i = 0; i < 5; i++) {
      const forged = await makeKey(`random-${i}`);
      await refused('limited', await sign(forged, claims()), 'no signing key matches the token');
    }
    assert.equal(jwks.fetches('/limited'), fetched, 'no fetch within minRefetchIntervalMs');
  });

  it('accepts HMAC only with a configured secret, and never an RS token there', async () => {
    const hs = await new SignJWT(claims()).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(HMAC_SECRET));
    assert.equal((await call('hmac', hs)).status, 200);
    const wrong = await new SignJWT(claims()).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode('another-secret-0123456789abcdef0123'));
    await refused('hmac', wrong, 'token signature is invalid');
    await refused('hmac', await sign(rsa, claims()), 'token algorithm "RS256" is not allowed');
  });

  it('optional mode: no token passes, a bad one does not', async () => {
    assert.equal((await call('optional')).status, 200);
    await refused('optional', 'garbage', 'malformed token');
  });

  it('permissive mode: a bad token passes as anonymous', async () => {
    assert.equal((await call('permissive', 'garbage')).status, 200);
  });

  it('reads the token from a query parameter or a cookie and removes it before forwarding', async () => {
    const token = await sign(rsa, claims());
    const q = await call('elsewhere', undefined, { path: `/x?a=1&access_token=${token}` });
    assert.equal(q.status, 200);
    assert.equal(q.json.url, '/x?a=1');
    const c = await call('elsewhere', undefined, { headers: { cookie: `theme=dark; session=${token}` } });
    assert.equal(c.status, 200);
    assert.equal(c.json.headers.cookie, 'theme=dark');
    await refused('elsewhere', undefined, 'missing bearer token');
  });

  it('forwards the token when the route says passthrough', async () => {
    const token = await sign(rsa, claims());
    const r = await call('passthrough', token);
    assert.equal(r.json.headers.authorization, `Bearer ${token}`);
  });

  it('fails closed with 401 when the JWKS endpoint cannot be reached, and logs why', async () => {
    const r = await refused('down', await sign(rsa, claims()), 'token could not be verified');
    assert.equal(r.challenge, 'Bearer error="invalid_token", error_description="token could not be verified"');
    const line = await gw.logs.waitFor((l) => l.msg === 'JWT verification failed');
    assert.equal(line.policy, 'binds[0].listeners[0].routes[8].policies.jwtAuth');
  });

  it('never logs a token, and still serves after all refusals', async () => {
    const token = await sign(rsa, claims());
    assert.equal((await call('main', token)).status, 200);
    assert.ok(!gw.logs.raw().includes(token.split('.')[2]));
  });
});

describe('jwtAuth: configuration errors', () => {
  const start = (jwtAuth: Record<string, unknown>) =>
    startTestGateway(simpleConfig([{ name: 'r', policies: { jwtAuth: { issuer: ISS, ...jwtAuth } as any }, backends: [{ host: '127.0.0.1:9' }] }]));

  it('never accepts alg "none" in the allowlist', async () => {
    await assert.rejects(start({ jwks: { inline: { keys: [] } }, algorithms: ['none'] }), (err: any) => {
      assert.equal(err.code, 'PCL_ERR_CONFIG_INVALID');
      assert.equal(err.message, 'binds[0].listeners[0].routes[0].policies.jwtAuth.algorithms: "none" is never accepted');
      return true;
    });
  });

  it('refuses HMAC without a secret', async () => {
    await assert.rejects(start({ jwks: { inline: { keys: [] } }, algorithms: ['HS256'] }), (err: any) => {
      assert.equal(err.code, 'PCL_ERR_CONFIG_INVALID');
      assert.match(err.message, /algorithms: HS256 needs "secret" \(HMAC keys are never taken from a JWKS\)$/);
      return true;
    });
  });

  it('refuses a requireExp that is not a boolean, with its path', async () => {
    await assert.rejects(start({ jwks: { inline: { keys: [] } }, requireExp: 'no' }), (err: any) => {
      assert.equal(err.code, 'PCL_ERR_CONFIG_INVALID');
      assert.match(err.message, /binds\[0\]\.listeners\[0\]\.routes\[0\]\.policies\.jwtAuth\.requireExp: expected boolean, got string$/);
      return true;
    });
  });

  it('refuses two key sources at once', async () => {
    await assert.rejects(start({ jwks: { url: 'http://127.0.0.1:9/jwks', file: './x.json' } }), (err: any) => {
      assert.equal(err.code, 'PCL_ERR_CONFIG_INVALID');
      assert.match(err.message, /policies\.jwtAuth\.jwks: expected exactly one of url, file, inline, got url, file/);
      return true;
    });
  });
});
