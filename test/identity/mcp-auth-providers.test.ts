// The identity-provider adapters of mcpAuthentication, each against a stand-in of that provider's HTTP surface (its
// metadata path, its registration path): what the gateway serves as authorization-server metadata, where it relays
// registration, what it answers itself from a pre-registered clientId, Entra's authorize/token proxy; and the IdP
// failures (dead, hanging, an error status, malformed metadata) as 502s with stable codes that leak nothing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { send, simpleConfig, startTestGateway, echoUpstream, type TestGateway, type Upstream } from '../helpers/gateway.ts';
import { portBelowEphemeralRange } from '../helpers/held-ports.ts';
import type { McpAuthenticationPolicy } from '../../sdk-types/index.ts';
import { makeKey, type SigningKey } from '../security/jwks-server.ts';
import { metadataFor, startIdpFixture, type IdpFixture } from '../fixtures/identity/mcp-auth/idp-fixture.ts';

const GW = 'http://gw.test';
const SECRET = 'entra-secret-4f1c9a';

describe('mcpAuthentication provider adapters against stand-ins of each provider', () => {
  let idp: IdpFixture;
  let up: Upstream;
  let gw: TestGateway;
  let key: SigningKey;
  let dead: number;

  before(async () => {
    [idp, up, key, dead] = await Promise.all([startIdpFixture(), echoUpstream(), makeKey('k1'), portBelowEphemeralRange()]);
    const O = idp.origin;
    idp.on('/realms/kc/.well-known/openid-configuration', { json: metadataFor(`${O}/realms/kc`, { registration_endpoint: `${O}/realms/kc/clients-registrations/openid-connect` }) });
    idp.on('/realms/kc/clients-registrations/openid-connect', (req) => ({ status: 201, json: { client_id: 'kc-client-1', redirect_uris: JSON.parse(req.body).redirect_uris } }));
    idp.on('/realms/broken/.well-known/openid-configuration', { json: metadataFor(`${O}/realms/broken`) });
    idp.on('/realms/notjson/.well-known/openid-configuration', { text: '<html>maintenance</html>' });
    idp.on('/realms/array/.well-known/openid-configuration', { json: [1, 2] });
    idp.on('/realms/error/.well-known/openid-configuration', { status: 500, text: 'boom' });
    idp.on('/realms/hang/.well-known/openid-configuration', 'hang');
    idp.on('/.well-known/oauth-authorization-server/auth0', { json: metadataFor(`${O}/auth0`, { registration_endpoint: `${O}/auth0/oidc/register` }) });
    idp.on('/oauth2/default/.well-known/openid-configuration', { json: metadataFor(`${O}/oauth2/default`, { registration_endpoint: `${O}/oauth2/v1/clients` }) });
    idp.on('/oauth2/v1/clients', { status: 201, json: { client_id: 'okta-client-1' } });
    idp.on('/v1/apps/agentic/P1/S1/.well-known/openid-configuration', { json: metadataFor(`${O}/v1/apps/agentic/P1/S1`, { registration_endpoint: `${O}/v1/mgmt/whatever` }) });
    idp.on('/v1/mgmt/mcp/client/P1/S1/register', { status: 201, json: { client_id: 'descope-client-1' } });
    idp.on('/application/o/app/.well-known/openid-configuration', { json: metadataFor(`${O}/application/o/app/`) });
    const entraDoc = metadataFor(`${O}/tenant-1/v2.0`, {}, `${O}/tenant-1/oauth2/v2.0`);
    delete entraDoc.code_challenge_methods_supported;
    idp.on('/tenant-1/v2.0/.well-known/openid-configuration', { json: entraDoc });
    idp.on('/tenant-1/oauth2/v2.0/token', { json: { access_token: 'opaque-at', token_type: 'Bearer', expires_in: 300 } });

    const route = (name: string, auth: Record<string, unknown>) => ({
      name,
      matches: [
        { path: { pathPrefix: `/.well-known/oauth-authorization-server/${name}/mcp` } },
        { path: { exact: `/.well-known/oauth-protected-resource/${name}/mcp` } },
        { path: { pathPrefix: `/${name}/` } },
      ],
      policies: { mcpAuthentication: { resource: `${GW}/${name}/mcp`, jwks: { inline: { keys: [key.jwk] } }, ...auth } as McpAuthenticationPolicy },
      backends: [{ host: up.host }],
    });
    gw = await startTestGateway(
      simpleConfig([
        route('keycloak', { issuer: `${O}/realms/kc`, provider: 'keycloak', audiences: ['mcp_proxy'] }),
        route('kccold', { issuer: `${O}/realms/kc`, provider: 'keycloak', audiences: ['mcp_proxy'] }),
        route('kcpre', { issuer: `${O}/realms/kc`, provider: 'keycloak', audiences: ['mcp_proxy'], clientId: 'pre-registered' }),
        route('broken', { issuer: `${O}/realms/broken`, provider: 'keycloak' }),
        route('notjson', { issuer: `${O}/realms/notjson`, provider: 'keycloak' }),
        route('array', { issuer: `${O}/realms/array`, provider: 'keycloak' }),
        route('error', { issuer: `${O}/realms/error`, provider: 'keycloak' }),
        route('hang', { issuer: `${O}/realms/hang`, provider: 'keycloak', idpTimeoutMs: 300 }),
        route('dead', { issuer: `http://127.0.0.1:${dead}/realms/x`, provider: 'keycloak' }),
        route('auth0', { issuer: `${O}/auth0`, provider: 'auth0', audiences: ['urn:agent-gateway'] }),
        route('okta', { issuer: `${O}/oauth2/default`, provider: 'okta', audiences: ['api://default'] }),
        route('descope', { issuer: `${O}/v1/apps/agentic/P1/S1`, provider: 'descope' }),
        route('authentik', { issuer: `${O}/application/o/app/`, provider: 'authentik', audiences: ['pre-registered'] }),
        route('authentikpre', { issuer: `${O}/application/o/app/`, provider: 'authentik', audiences: ['pre-registered'], clientId: 'pre-registered' }),
        route('entra', { issuer: `${O}/tenant-1/v2.0`, provider: 'entra', audiences: ['api://app-1'], clientId: 'app-1', clientSecret: { secret: SECRET } }),
      ]) as never,
    );
  });
  after(async () => {
    await gw?.close();
    await idp?.close();
    await up?.close();
  });

  const as = (name: string, suffix = '') => `${gw.url()}/.well-known/oauth-authorization-server/${name}/mcp${suffix}`;
  const gwAs = (name: string) => `${GW}/.well-known/oauth-authorization-server/${name}/mcp`;
  const register = (name: string, headers: Record<string, string> = {}) =>
    send(as(name, '/client-registration'), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ client_name: 'c', redirect_uris: ['http://127.0.0.1:5555/cb'] }) });

  it('with a provider, the protected-resource metadata names the gateway as the authorization server', async () => {
    const res = await send(`${gw.url()}/.well-known/oauth-protected-resource/keycloak/mcp`);
    assert.deepEqual(res.json().authorization_servers, [`${GW}/keycloak/mcp`]);
  });

  it('keycloak: realm OIDC discovery, issuer and registration endpoint rewritten to the gateway, registration relayed to clients-registrations/openid-connect', async () => {
    const res = await send(as('keycloak'));
    assert.equal(res.status, 200);
    assert.equal(res.headers['access-control-allow-origin'], '*');
    const doc = res.json();
    assert.equal(doc.issuer, `${GW}/keycloak/mcp`);
    assert.equal(doc.registration_endpoint, `${gwAs('keycloak')}/client-registration`);
    assert.equal(doc.authorization_endpoint, `${idp.origin}/realms/kc/authorize`);
    const reg = await register('keycloak', { authorization: 'Bearer initial-access-token' });
    assert.equal(reg.status, 201);
    assert.deepEqual(reg.json(), { client_id: 'kc-client-1', redirect_uris: ['http://127.0.0.1:5555/cb'] });
    const relayed = idp.seen.find((s) => s.path === '/realms/kc/clients-registrations/openid-connect')!;
    assert.equal(relayed.method, 'POST');
    assert.equal(relayed.headers.authorization, 'Bearer initial-access-token');
    assert.deepEqual(JSON.parse(relayed.body).redirect_uris, ['http://127.0.0.1:5555/cb']);
  });

  it('clients arriving together while the metadata cache is cold share one fetch; later ones are served from the cache', async () => {
    const fetches = () => idp.seen.filter((x) => x.path === '/realms/kc/.well-known/openid-configuration').length;
    const before = fetches();
    const answers = await Promise.all(Array.from({ length: 5 }, () => send(as('kccold'))));
    assert.deepEqual(answers.map((a) => a.status), [200, 200, 200, 200, 200]);
    assert.equal((await send(as('kccold'))).json().issuer, `${GW}/kccold/mcp`);
    assert.equal(fetches() - before, 1);
  });

  it('clientId: registration is answered by the gateway with the pre-registered public client, the provider is not called', async () => {
    const before = idp.seen.length;
    const reg = await register('kcpre');
    assert.equal(reg.status, 201);
    assert.deepEqual(reg.json(), { client_id: 'pre-registered', client_id_issued_at: 0, token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], redirect_uris: ['http://127.0.0.1:5555/cb'] });
    assert.equal(idp.seen.length, before);
  });

  it('auth0: RFC 8414 metadata, ?audience= on the authorization endpoint, its own registration endpoint kept', async () => {
    const doc = (await send(as('auth0'))).json();
    assert.equal(doc.authorization_endpoint, `${idp.origin}/auth0/authorize?audience=urn%3Aagent-gateway`);
    assert.equal(doc.registration_endpoint, `${idp.origin}/auth0/oidc/register`);
    assert.equal(doc.issuer, `${GW}/auth0/mcp`);
  });

  it('okta: OIDC discovery, ?audience=, registration relayed to the org /oauth2/v1/clients with the SSWS token', async () => {
    const doc = (await send(as('okta'))).json();
    assert.equal(doc.authorization_endpoint, `${idp.origin}/oauth2/default/authorize?audience=api%3A%2F%2Fdefault`);
    assert.equal(doc.registration_endpoint, `${gwAs('okta')}/client-registration`);
    const reg = await register('okta', { authorization: 'SSWS okta-api-token' });
    assert.equal(reg.status, 201);
    assert.equal(reg.json().client_id, 'okta-client-1');
    assert.equal(idp.seen.find((s) => s.path === '/oauth2/v1/clients')?.headers.authorization, 'SSWS okta-api-token');
  });

  it("descope: registration relayed to the management endpoint derived from the agentic issuer", async () => {
    const doc = (await send(as('descope'))).json();
    assert.equal(doc.registration_endpoint, `${gwAs('descope')}/client-registration`);
    const reg = await register('descope');
    assert.equal(reg.status, 201);
    assert.equal(reg.json().client_id, 'descope-client-1');
  });

  it('authentik: a registration endpoint is injected; without clientId registration is 501, with it the pre-registered client', async () => {
    const doc = (await send(as('authentik'))).json();
    assert.equal(doc.registration_endpoint, `${gwAs('authentik')}/client-registration`);
    const refused = await register('authentik');
    assert.equal(refused.status, 501);
    assert.deepEqual(refused.json(), { error: { code: 'PCL_ERR_IDP_REGISTRATION_UNSUPPORTED', message: 'authentik does not support dynamic client registration; set mcpAuthentication.clientId to a pre-registered public client' } });
    assert.equal((await register('authentikpre')).json().client_id, 'pre-registered');
  });

  it('entra: authorize and token endpoints are the gateway, PKCE advertised, registration answered from clientId', async () => {
    const doc = (await send(as('entra'))).json();
    assert.equal(doc.authorization_endpoint, `${gwAs('entra')}/authorize`);
    assert.equal(doc.token_endpoint, `${gwAs('entra')}/token`);
    assert.equal(doc.registration_endpoint, `${gwAs('entra')}/client-registration`);
    assert.deepEqual(doc.code_challenge_methods_supported, ['S256']);
    assert.equal((await register('entra')).json().client_id, 'app-1');
  });

  it('entra: /authorize redirects to Entra without the RFC 8707 resource parameter', async () => {
    const res = await send(as('entra', '/authorize?client_id=app-1&resource=http%3A%2F%2Fgw.test%2Fentra%2Fmcp&scope=api%3A%2F%2Fapp-1%2Fmcp_access&code_challenge=x'));
    assert.equal(res.status, 302);
    assert.equal(res.headers.location, `${idp.origin}/tenant-1/oauth2/v2.0/authorize?client_id=app-1&scope=api%3A%2F%2Fapp-1%2Fmcp_access&code_challenge=x`);
  });

  it('entra: /token strips resource and adds the secret only to user grants of the configured client; the secret never comes back', async () => {
    const token = (form: string) => send(as('entra', '/token'), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form });
    const lastToken = () => new URLSearchParams(idp.seen.filter((s) => s.path === '/tenant-1/oauth2/v2.0/token').at(-1)!.body);
    const ok = await token('grant_type=authorization_code&client_id=app-1&code=c1&code_verifier=v&resource=http%3A%2F%2Fgw.test%2Fentra%2Fmcp');
    assert.equal(ok.status, 200);
    assert.equal(ok.json().access_token, 'opaque-at');
    assert.equal(ok.headers['cache-control'], 'no-store');
    let sent = lastToken();
    assert.equal(sent.get('resource'), null);
    assert.equal(sent.get('client_secret'), SECRET);
    await token('grant_type=client_credentials&client_id=app-1&scope=x');
    assert.equal(lastToken().get('client_secret'), null, 'never for client_credentials');
    await token('grant_type=authorization_code&client_id=someone-else&code=c2');
    assert.equal(lastToken().get('client_secret'), null, 'never for another client');
    await token('grant_type=refresh_token&client_id=app-1&refresh_token=r&client_secret=own');
    sent = lastToken();
    assert.deepEqual(sent.getAll('client_secret'), ['own'], 'a client secret the client sent is not doubled');
    const wrongMethod = await send(as('entra', '/token'));
    assert.equal(wrongMethod.status, 405);
    assert.ok(!gw.logs.raw().includes(SECRET), 'the client secret is in the log');
  });

  it('malformed provider metadata: 502 PCL_ERR_IDP_METADATA_INVALID saying what is wrong', async () => {
    const cases: Array<[string, string]> = [
      ['broken', `the provider's metadata has no registration_endpoint (keycloak adapter, ${idp.origin}/realms/broken/.well-known/openid-configuration)`],
      ['notjson', `the identity provider's metadata at ${idp.origin}/realms/notjson/.well-known/openid-configuration is not JSON`],
      ['array', `the identity provider's metadata at ${idp.origin}/realms/array/.well-known/openid-configuration is not a JSON object`],
    ];
    for (const [name, message] of cases) {
      const res = await send(as(name));
      assert.equal(res.status, 502, name);
      assert.deepEqual(res.json(), { error: { code: 'PCL_ERR_IDP_METADATA_INVALID', message } });
    }
  });

  it('an IdP that answers an error, hangs, or is down (metadata and registration relay): 502 PCL_ERR_IDP_UNREACHABLE, the request body not in the message', async () => {
    const error = await send(as('error'));
    assert.equal(error.status, 502);
    assert.deepEqual(error.json(), { error: { code: 'PCL_ERR_IDP_UNREACHABLE', message: `the identity provider's metadata endpoint ${idp.origin}/realms/error/.well-known/openid-configuration failed: it answered HTTP 500` } });
    const started = Date.now();
    const hang = await send(as('hang'));
    assert.equal(hang.status, 502);
    assert.equal(hang.json().error.message, `the identity provider's metadata endpoint ${idp.origin}/realms/hang/.well-known/openid-configuration failed: no answer within 300 ms (idpTimeoutMs)`);
    assert.ok(Date.now() - started < 5_000);
    const down = await send(as('dead'));
    assert.equal(down.status, 502);
    assert.equal(down.json().error.code, 'PCL_ERR_IDP_UNREACHABLE');
    const reg = await send(as('dead', '/client-registration'), { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer initial-secret-token' }, body: '{"client_name":"c","client_secret":"registration-body-secret"}' });
    assert.equal(reg.status, 502);
    assert.deepEqual(reg.json(), { error: { code: 'PCL_ERR_IDP_UNREACHABLE', message: `the identity provider's registration endpoint http://127.0.0.1:${dead}/realms/x/clients-registrations/openid-connect failed: ECONNREFUSED` } });
    const log = gw.logs.raw();
    assert.ok(gw.logs.find((l) => l.msg === 'mcpAuthentication: identity provider call failed' && l.code === 'PCL_ERR_IDP_UNREACHABLE'));
    assert.ok(!log.includes('registration-body-secret') && !log.includes('initial-secret-token'), 'a credential is in the log');
  });
});
