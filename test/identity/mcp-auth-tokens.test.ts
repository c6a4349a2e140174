// mcpAuthentication as a resource server, on a real gateway and a real upstream: the three modes, the token in
// header, body or query as announced, and the spec's challenges for a missing, bad or under-scoped token. Every
// refusal has a stable code, and no token ever reaches the log or the upstream.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { JWTPayload } from 'jose';
import { echoUpstream, send, simpleConfig, startTestGateway, type TestGateway, type Upstream } from '../helpers/gateway.ts';
import { makeKey, sign, type SigningKey } from '../security/jwks-server.ts';

const ISS = 'https://idp.test/realms/mcp';
const RES = (name: string) => `https://mcp.test/${name}/mcp`;
const now = () => Math.floor(Date.now() / 1000);

describe('mcpAuthentication: modes, bearer methods and challenges', () => {
  let up: Upstream;
  let gw: TestGateway;
  let key: SigningKey;
  let stranger: SigningKey;
  const used: string[] = [];

  const token = async (route: string, extra: JWTPayload = {}, by = key): Promise<string> => {
    const t = await sign(by, { iss: ISS, aud: RES(route), sub: 'user-1', iat: now(), exp: now() + 300, scope: 'mcp:tools openid', ...extra });
    used.push(t);
    return t;
  };

  before(async () => {
    [key, stranger] = await Promise.all([makeKey('k1', 'RS256'), makeKey('k1', 'RS256')]);
    up = await echoUpstream();
    const route = (name: string, auth: Record<string, unknown>) => ({
      name,
      matches: [{ path: { pathPrefix: `/${name}/` } }, { path: { exact: `/.well-known/oauth-protected-resource/${name}/mcp` } }],
      policies: { mcpAuthentication: { issuer: ISS, resource: RES(name), jwks: { inline: { keys: [key.jwk] } }, ...auth } },
      backends: [{ host: up.host }],
    });
    gw = await startTestGateway(
      simpleConfig([
        route('strict', {
          scopesSupported: ['mcp:tools'],
          requiredScopes: ['mcp:tools'],
          bearerMethodsSupported: ['header', 'body', 'query'],
          resourceName: 'Strict MCP',
          resourceDocumentation: 'https://mcp.test/docs',
          resourcePolicyUri: 'https://mcp.test/policy',
        }),
        route('optional', { mode: 'optional' }),
        route('permissive', { mode: 'permissive', requiredScopes: ['admin'] }),
        route('header', {}),
      ]) as never,
    );
  });
  after(async () => {
    await gw?.close();
    await up?.close();
  });

  const post = (path: string, headers: Record<string, string> = {}, body = '{"jsonrpc":"2.0","id":1,"method":"ping"}') =>
    send(`${gw.url()}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const challengeOf = (route: string) => `resource_metadata="https://mcp.test/.well-known/oauth-protected-resource/${route}/mcp"`;

  it('serves the RFC 9728 metadata with the documentation, policy and bearer methods', async () => {
    const res = await send(`${gw.url()}/.well-known/oauth-protected-resource/strict/mcp`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.json(), {
      resource: RES('strict'),
      authorization_servers: [ISS],
      bearer_methods_supported: ['header', 'body', 'query'],
      scopes_supported: ['mcp:tools'],
      resource_name: 'Strict MCP',
      resource_documentation: 'https://mcp.test/docs',
      resource_policy_uri: 'https://mcp.test/policy',
    });
  });

  it('a missing token: strict answers 401 with resource_metadata and scope; optional and permissive let it through anonymous', async () => {
    const strict = await post('/strict/mcp');
    assert.equal(strict.status, 401);
    assert.equal(strict.headers['www-authenticate'], `Bearer ${challengeOf('strict')}, scope="mcp:tools"`);
    assert.deepEqual(strict.json(), { error: { code: 'PCL_ERR_UNAUTHENTICATED', message: 'missing bearer token' } });
    const header = await post('/header/mcp');
    assert.equal(header.headers['www-authenticate'], `Bearer ${challengeOf('header')}`);
    for (const route of ['optional', 'permissive']) {
      const res = await post(`/${route}/mcp`);
      assert.equal(res.status, 200, route);
      assert.equal(res.json().upstream, 'echo');
    }
  });

  it('expired, wrong-audience, wrong-issuer, foreign-key and malformed tokens: 401 invalid_token in strict and optional, through in permissive', async () => {
    const cases: Array<[string, (route: string) => Promise<string>, string]> = [
      ['expired', (r) => token(r, { iat: now() - 600, exp: now() - 300 }), 'token expired'],
      ['wrong audience', (r) => token(r, { aud: 'https://other.test/mcp' }), 'token audience is not accepted'],
      ['wrong issuer', (r) => token(r, { iss: 'https://evil.test' }), 'token issuer is not accepted'],
      ['foreign key', (r) => token(r, {}, stranger), 'token signature is invalid'],
      ['no expiry', (r) => token(r, { exp: undefined }), 'token has no expiry (exp claim missing)'],
      ['not a JWT', async () => 'abc.def.ghi', 'malformed token'],
    ];
    for (const [what, make, reason] of cases) {
      for (const route of ['strict', 'optional']) {
        const t = await make(route);
        const res = await post(`/${route}/mcp`, { authorization: `Bearer ${t}` });
        assert.equal(res.status, 401, `${what} on ${route}`);
        assert.deepEqual(res.json(), { error: { code: 'PCL_ERR_UNAUTHENTICATED', message: reason } }, what);
        assert.equal(res.headers['www-authenticate'], `Bearer error="invalid_token", error_description="${reason}", ${challengeOf(route)}`, what);
        assert.ok(!res.text.includes(t), 'the token is not echoed');
      }
      const res = await post('/permissive/mcp', { authorization: `Bearer ${await make('permissive')}` });
      assert.equal(res.status, 200, `${what} on permissive`);
    }
    const basic = await post('/strict/mcp', { authorization: 'Basic dXNlcjpwYXNz' });
    assert.equal(basic.status, 401);
    assert.equal(basic.headers['www-authenticate'], `Bearer error="invalid_token", error_description="the authorization header must be "Bearer <token>"", ${challengeOf('strict')}`.replace('"Bearer <token>""', `'Bearer <token>'"`));
  });

  it('a valid token without a required scope: 403 insufficient_scope naming the scope (not in permissive)', async () => {
    const res = await post('/strict/mcp', { authorization: `Bearer ${await token('strict', { scope: 'openid' })}` });
    assert.equal(res.status, 403);
    assert.deepEqual(res.json(), { error: { code: 'PCL_ERR_INSUFFICIENT_SCOPE', message: 'the token lacks the scope mcp:tools (mcpAuthentication.requiredScopes)' } });
    assert.equal(res.headers['www-authenticate'], `Bearer error="insufficient_scope", scope="mcp:tools", error_description="the token lacks a required scope", ${challengeOf('strict')}`);
    // `scp` as an array (Okta, Entra) counts too.
    const scp = await post('/strict/mcp', { authorization: `Bearer ${await token('strict', { scope: undefined, scp: ['mcp:tools'] })}` });
    assert.equal(scp.status, 200);
    const permissive = await post('/permissive/mcp', { authorization: `Bearer ${await token('permissive')}` });
    assert.equal(permissive.status, 200);
  });

  it('a valid token in the header, the query or a form body is accepted where announced and removed before the upstream', async () => {
    const h = await post('/strict/mcp', { authorization: `Bearer ${await token('strict')}` });
    assert.equal(h.status, 200);
    assert.equal(h.json().headers.authorization, undefined);

    const q = await post(`/strict/mcp?a=1&access_token=${await token('strict')}`);
    assert.equal(q.status, 200);
    assert.equal(q.json().url, '/strict/mcp?a=1');

    const form = `x=1&access_token=${await token('strict')}&y=2`;
    const b = await send(`${gw.url()}/strict/mcp`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form });
    assert.equal(b.status, 200);
    assert.equal(b.json().body, 'x=1&y=2');
    assert.equal(b.json().headers['content-length'], '7');

    // Not announced on this route: a query token is not read, so the request has none.
    const notRead = await post(`/header/mcp?access_token=${await token('header')}`);
    assert.equal(notRead.status, 401);
    assert.equal(notRead.json().error.message, 'missing bearer token');
  });

  it('a token given two ways at once, or twice in the query: 400 invalid_request', async () => {
    const t = await token('strict');
    const both = await post(`/strict/mcp?access_token=${t}`, { authorization: `Bearer ${t}` });
    assert.equal(both.status, 400);
    assert.deepEqual(both.json(), { error: { code: 'PCL_ERR_BAD_REQUEST', message: 'the token is given in more than one way (header, query); use one' } });
    assert.match(String(both.headers['www-authenticate']), /^Bearer error="invalid_request", error_description="the token is given in more than one way \(header, query\); use one", resource_metadata=/);
    const twice = await post(`/strict/mcp?access_token=${t}&access_token=${t}`);
    assert.equal(twice.status, 400);
    assert.equal(twice.json().error.message, 'the access_token query parameter is given more than once');
  });

  it('no token used here appears in the gateway log', () => {
    const log = gw.logs.raw();
    assert.ok(used.length > 10);
    // The refusals were logged (with their reasons), so the log was there to leak into.
    assert.ok(gw.logs.find((l) => l.msg === 'MCP bearer token refused' && l.reason === 'token expired'));
    for (const t of used) assert.ok(!log.includes(t), 'a token is in the log');
  });
});
