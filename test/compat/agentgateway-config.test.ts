import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig, parseDuration } from '../../core/config/index.ts';
import { builtinPolicies } from '../../policies/index.ts';
import { builtinBackends } from '../../core/gateway/backends.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/agentgateway/', import.meta.url));
const fixture = (name: string) => join(FIXTURES, name);

/** The error lines of a config that does not load, without the first line (which names the file). */
async function errorsOf(file: string): Promise<string[]> {
  try {
    await loadConfig(file, builtinPolicies, builtinBackends);
  } catch (err) {
    assert.equal((err as { code?: string }).code, 'PCL_ERR_CONFIG_INVALID', (err as Error).message);
    return (err as Error).message.split('\n').slice(1);
  }
  assert.fail(`${file} loaded, but errors were expected`);
}

describe('agentgateway configs: our fixtures in its format validate unchanged', () => {
  it('basic: cors.maxAge as a duration string is read in seconds', async () => {
    const { config } = await loadConfig(fixture('basic.yaml'), builtinPolicies, builtinBackends);
    const route = config.binds[0].listeners[0].routes[0];
    assert.equal((route.policies.cors as { maxAge: number }).maxAge, 100);
    assert.equal(route.backends[0].kind, 'mcp');
  });

  it('authorization: a URL in host becomes the target url, passthrough: {} is on, the CEL rules are kept', async () => {
    const { config } = await loadConfig(fixture('authorization.yaml'), builtinPolicies, builtinBackends);
    const route = config.binds[0].listeners[0].routes[0];
    const mcp = route.backends[0].config as { targets: Array<{ mcp: unknown }> };
    assert.deepEqual(mcp.targets[0].mcp, { url: 'http://localhost:3001/mcp' });
    assert.deepEqual(route.policies.backendAuth, { passthrough: true });
    assert.equal(route.policies.mcpAuthorization?.rules.length, 4);
  });

  it('mcp-authentication: agentgateway field names map onto ours; a bind without a port serves 3000', async () => {
    const { config } = await loadConfig(fixture('mcp-authentication.yaml'), builtinPolicies, builtinBackends);
    assert.equal(config.binds[0].port, 3000);
    assert.deepEqual(config.binds[0].listeners[0].routes[0].policies.mcpAuthentication, {
      mode: 'strict',
      issuer: 'http://localhost:9000',
      audiences: ['http://localhost:3000/stdio/mcp'],
      resource: 'http://localhost:3000/stdio/mcp',
      jwks: { file: './jwt/pub-key' },
      provider: 'keycloak',
      scopesSupported: ['read:all'],
      bearerMethodsSupported: ['header'],
    });
  });

  it('policies: durations, retry codes, plain urlRewrite authority, backend key, mirror, config and frontendPolicies', async () => {
    const { config } = await loadConfig(fixture('policies.yaml'), builtinPolicies, builtinBackends);
    const p = config.binds[0].listeners[0].routes[0].policies;
    assert.deepEqual(p.timeout, { requestTimeoutMs: 10_000, backendRequestTimeoutMs: 90_000 });
    assert.deepEqual(p.retry, { attempts: 2, backoffMs: 50, codes: [503] });
    assert.deepEqual(p.urlRewrite, { authority: { full: 'internal.example.com' } });
    assert.deepEqual(p.backendAuth, { credential: { secret: 'fixture-upstream-key' }, prefix: 'Bearer ' });
    assert.deepEqual(p.requestMirror, { backend: 'localhost:3003', percentage: 100 });
    assert.deepEqual(config.logging, { level: 'info', format: 'pretty', accessLog: true });
    assert.equal(config.upstream.connectTimeoutMs, 2000);
    assert.equal(config.upstream.keepAliveTimeoutMs, 90_000);
    assert.equal(config.shutdown.drainTimeoutMs, 5000);
    assert.equal(config.limits.maxRequestBodyBytes, 2_097_152);
    assert.equal(config.limits.idleTimeoutMs, 90_000);
    assert.equal(config.admin.address, '127.0.0.1:15000');
  });

  it('multiplex and tls validate too', async () => {
    for (const name of ['multiplex.yaml', 'tls.yaml']) await loadConfig(fixture(name), builtinPolicies, builtinBackends);
  });

  it('features Portcullis does not have are named, with their paths, all at once', async () => {
    assert.deepEqual(await errorsOf(fixture('unsupported.yaml')), [
      'config.workerThreads: agentgateway feature `config.workerThreads` is not supported by Portcullis',
      'config.enableIpv6: agentgateway feature `config.enableIpv6` is not supported by Portcullis',
      'binds[0].listeners[0].protocol: agentgateway feature `listener protocol TCP` is not supported by Portcullis (HTTP and HTTPS listeners are served)',
      'binds[0].listeners[0].routes[0].policies.extAuthz: agentgateway feature `extAuthz over gRPC` is not supported by Portcullis (give protocol: { http: {} } for an HTTP authorizer, or use `authorization` with Rego or CEL `rules`)',
      'binds[0].listeners[0].routes[0].policies.basicAuth: agentgateway feature `basicAuth` is not supported by Portcullis (use `apiKey` or `jwtAuth`)',
      'binds[0].listeners[0].routes[0].backends[0].ai: agentgateway feature `ai backends` is not supported by Portcullis (LLM providers are not proxied)',
    ]);
  });
});

describe('agentgateway configs: bad input is refused with its path', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });
  /** One route (host backend) with the given policies, as agentgateway YAML, plus extra top-level text. */
  async function yaml(policies: string, top = '', backend = '      backends:\n      - host: 127.0.0.1:1\n'): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'pcl-ag-'));
    dirs.push(dir);
    const file = join(dir, 'config.yaml');
    await writeFile(file, `${top}binds:\n- port: 0\n  listeners:\n  - routes:\n    - policies:\n${policies}${backend}`);
    return file;
  }
  const at = 'binds[0].listeners[0].routes[0]';

  it('an unreadable duration names the field and the forms it takes', async () => {
    assert.deepEqual(await errorsOf(await yaml('        timeout:\n          requestTimeout: soon\n        cors:\n          maxAge: 5 minutes\n')), [
      `${at}.policies.timeout.requestTimeout: expected a duration such as "500ms", "10s", "1m30s" or a number of milliseconds, got "soon"`,
      `${at}.policies.cors.maxAge: expected a duration such as "500ms", "10s", "1m30s" or a number of milliseconds, got "5 minutes"`,
    ]);
  });

  it('our own ...Ms settings take duration strings in YAML, and refuse what is not one', async () => {
    const file = await yaml('        retry:\n          backoffMs: 2s\n', 'shutdown:\n  drainTimeoutMs: fast\n');
    assert.deepEqual(await errorsOf(file), ['shutdown.drainTimeoutMs: expected a duration such as "500ms", "10s", "1m30s" or a number of milliseconds, got "fast"']);
  });

  it('a CEL rule that does not parse, names an unknown variable or is not a boolean is a config error at the rule', async () => {
    const rules = [
      "          - 'mcp.tool.name =='",
      "          - 'user.name == \"x\"'",
      "          - deny: '1 + 2'",
      "          - allow: 'true'\n            deny: 'false'",
      '          - require: 42',
      "          - ''",
    ].join('\n');
    const errors = await errorsOf(await yaml(`        mcpAuthorization:\n          rules:\n${rules}\n`, '', '      backends:\n      - mcp:\n          targets:\n          - name: a\n            stdio:\n              cmd: node\n'));
    const p = `${at}.policies.mcpAuthorization.rules`;
    assert.equal(errors.length, 6, errors.join('\n'));
    assert.equal(errors[0], `${p}[0]: invalid CEL rule "mcp.tool.name ==": Unexpected token: EOF (column 17)`);
    assert.equal(errors[1], `${p}[1]: invalid CEL rule "user.name == \\"x\\"": Unknown variable: user (column 1)`);
    assert.equal(errors[2], `${p}[2].deny: invalid CEL rule "1 + 2": the expression must be a boolean, it is of type int`);
    assert.equal(errors[3], `${p}[3]: expected exactly one of allow, deny, require, got allow, deny`);
    assert.equal(errors[4], `${p}[4].require: expected a CEL expression (string), got number`);
    assert.equal(errors[5], `${p}[5]: must not be empty`);
  });

  it('authorization needs rego or rules; a bad HTTP rule is reported at its path', async () => {
    assert.deepEqual(await errorsOf(await yaml('        authorization: {}\n')), [`${at}.policies.authorization.rego: is required (string or array of string), unless CEL rules are given in rules`]);
    const errors = await errorsOf(await yaml("        authorization:\n          rules: ['request.nope(']\n"));
    assert.match(errors[0], new RegExp(`^${escape(at)}\\.policies\\.authorization\\.rules\\[0\\]: invalid CEL rule`));
  });

  it('refused shapes of mapped policies name the field', async () => {
    const errors = await errorsOf(
      await yaml(
        [
          '        backendAuth:',
          '          key: [1]',
          '        jwtAuth:',
          '          providers:',
          '          - issuer: a',
          '            jwks: { file: ./a }',
          '          - issuer: b',
          '            jwks: { file: ./b }',
          '',
        ].join('\n'),
        'frontendPolicies:\n  tls:\n    tlsHandshakeTimeout: 5s\npolicies: []\n',
      ),
    );
    assert.deepEqual(errors, [
      'frontendPolicies.tls: agentgateway feature `frontendPolicies.tls` is not supported by Portcullis',
      'policies: agentgateway feature `top-level policies` is not supported by Portcullis (put policies and backends inline on listeners and routes)',
      `${at}.policies.backendAuth.key: expected a string or { file: <path> }`,
      `${at}.policies.jwtAuth.providers: agentgateway feature \`jwtAuth.providers (more than one)\` is not supported by Portcullis (give one issuer and one jwks)`,
      `${at}.policies.jwtAuth.issuer: is required (string or array of string)`,
    ]);
  });

  it('the remaining refused shapes: backends by service or dynamic, cloud backendAuth, tcpRoutes, tunnels, top-level mcp/llm, config sub-keys, mirrors by service', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pcl-ag-'));
    dirs.push(dir);
    const file = join(dir, 'config.yaml');
    await writeFile(
      file,
      [
        'config:',
        '  logging:',
        '    database: { url: "postgres://db" }',
        '  backend:',
        '    poolMaxSize: 4',
        'mcp: {}',
        'llm: {}',
        'binds:',
        '- port: 0',
        '  tunnelProtocol: proxy',
        '  listeners:',
        '  - tcpRoutes: []',
        '    routes:',
        '    - policies:',
        '        backendAuth:',
        '          gcp: {}',
        '        requestMirror:',
        '          backend:',
        '            service: { name: { namespace: ns, hostname: h }, port: 80 }',
        '      backends:',
        '      - service: { name: { namespace: ns, hostname: h }, port: 80 }',
        '      - dynamic: {}',
        '      - host: 127.0.0.1:1',
        '        policies: {}',
        '',
      ].join('\n'),
    );
    const r = `${at}`;
    assert.deepEqual(await errorsOf(file), [
      'config.logging.database: agentgateway feature `config.logging.database` is not supported by Portcullis',
      'config.backend.poolMaxSize: agentgateway feature `config.backend.poolMaxSize` is not supported by Portcullis',
      'llm: agentgateway feature `llm` is not supported by Portcullis',
      'mcp: agentgateway feature `mcp` is not supported by Portcullis',
      'binds[0].tunnelProtocol: agentgateway feature `tunnelProtocol` is not supported by Portcullis',
      'binds[0].listeners[0].tcpRoutes: agentgateway feature `tcpRoutes` is not supported by Portcullis',
      `${r}.policies.backendAuth.gcp: agentgateway feature \`backendAuth.gcp\` is not supported by Portcullis (use \`key\` or \`passthrough\`)`,
      `${r}.policies.requestMirror.backend: agentgateway feature \`requestMirror.backend (other than host)\` is not supported by Portcullis (give { host: "host:port" })`,
      `${r}.backends[0].service: agentgateway feature \`service backends\` is not supported by Portcullis (give the address as \`host: "host:port"\`)`,
      `${r}.backends[1].dynamic: agentgateway feature \`dynamic backends\` is not supported by Portcullis`,
      `${r}.backends[2].policies: agentgateway feature \`backend policies\` is not supported by Portcullis (put the policies on the route)`,
      `${r}.policies.requestMirror.backend: is required (string)`,
    ]);
  });

  it('mcpAuthentication: mode, the gateway-managed flow (clientId, clientSecret) and the provider map; what is not served is named', async () => {
    const policies = [
      '        mcpAuthentication:',
      '          mode: optional',
      '          issuer: https://login.microsoftonline.com/tenant-1/v2.0',
      '          audiences: [http://localhost:3000/mcp]',
      '          provider: { entra: {} }',
      '          clientId: gateway',
      '          clientSecret: s3cret-value',
      '          authorizationLocation: { queryParameter: { name: token } }',
      '          resourceMetadata:',
      '            resource: http://localhost:3000/mcp',
      '            mcpProtocolVersion: "2025-06-18"',
      '',
    ].join('\n');
    const file = await yaml(policies, '', '      backends:\n      - mcp:\n          targets:\n          - name: a\n            stdio:\n              cmd: node\n');
    assert.deepEqual(await errorsOf(file), [
      `${at}.policies.mcpAuthentication.resourceMetadata.mcpProtocolVersion: agentgateway feature \`mcpAuthentication.resourceMetadata.mcpProtocolVersion\` is not supported by Portcullis (the metadata fields served are resource, scopesSupported, resourceName, authorizationServers, bearerMethodsSupported, resourceDocumentation, resourcePolicyUri)`,
      `${at}.policies.mcpAuthentication.authorizationLocation: agentgateway feature \`mcpAuthentication.authorizationLocation\` is not supported by Portcullis (the token is read as \`resourceMetadata.bearerMethodsSupported\` announces (header, body, query))`,
    ]);
    const ok = await yaml(policies.replace('          authorizationLocation: { queryParameter: { name: token } }\n', '').replace('            mcpProtocolVersion: "2025-06-18"\n', ''), '', '      backends:\n      - mcp:\n          targets:\n          - name: a\n            stdio:\n              cmd: node\n');
    const { config } = await loadConfig(ok, builtinPolicies, builtinBackends);
    assert.deepEqual(config.binds[0].listeners[0].routes[0].policies.mcpAuthentication, {
      mode: 'optional',
      issuer: 'https://login.microsoftonline.com/tenant-1/v2.0',
      audiences: ['http://localhost:3000/mcp'],
      provider: 'entra',
      clientId: 'gateway',
      clientSecret: { secret: 's3cret-value' },
      resource: 'http://localhost:3000/mcp',
    });
  });

  it('a URL in host of an mcp target, written in our own config, is refused before any session fails', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pcl-ag-'));
    dirs.push(dir);
    const file = join(dir, 'gateway.config.ts');
    await writeFile(file, `export default { binds: [{ port: 0, listeners: [{ routes: [{ backends: [{ mcp: { targets: [{ name: 'a', mcp: { host: 'http://localhost:3001/mcp' } }] } }] }] }] }] };\n`);
    assert.deepEqual(await errorsOf(file), [
      `${at}.backends[0].mcp.targets[0].mcp.host: expected a host name, got the URL "http://localhost:3001/mcp" (put a URL in url)`,
    ]);
  });

  it('parses agentgateway and Go duration spellings', () => {
    assert.equal(parseDuration('1m30s'), 90_000);
    assert.equal(parseDuration('1h'), 3_600_000);
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('1.5s'), 1500);
    assert.equal(parseDuration('500us'), 1);
    assert.equal(parseDuration(12), 12);
    assert.equal(parseDuration('10'), undefined);
    assert.equal(parseDuration('-1s'), undefined);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}



describe('agentgateway configs: the shapes of its newer releases', () => {
  const dir = mkdtemp(join(tmpdir(), 'pcl-agw-newer-'));
  after(async () => rm(await dir, { recursive: true, force: true }));
  const write = async (name: string, yaml: string) => {
    const file = join(await dir, name);
    await writeFile(file, yaml);
    return file;
  };
  const EVERYTHING = `      backends:\n      - mcp:\n          targets:\n          - name: everything\n            stdio: { cmd: npx, args: ["@modelcontextprotocol/server-everything"] }\n`;

  it('the top-level mcp short form is one bind with one MCP route, its policies on the route', async () => {
    const file = await write('mcp.yaml', `mcp:\n  port: 3901\n  policies:\n    backendAuth: { passthrough: {} }\n    mcpAuthorization:\n      rules: ['mcp.tool.name == "echo"']\n  targets:\n  - name: remote\n    mcp: { host: http://localhost:3001/mcp }\n`);
    const { config } = await loadConfig(file, builtinPolicies, builtinBackends);
    assert.equal(config.binds[0].port, 3901);
    const route = config.binds[0].listeners[0].routes[0];
    assert.equal(route.backends[0].kind, 'mcp');
    assert.deepEqual((route.backends[0].config as { targets: Array<{ mcp: unknown }> }).targets[0].mcp, { url: 'http://localhost:3001/mcp' });
    assert.equal(route.policies.mcpAuthorization?.rules.length, 1);
  });

  it("backendAuth.oauthTokenExchange is our tokenExchange; a single backend's policies are the route's; what cannot map is named", async () => {
    const route = (policies: string, name = 'r') => `- port: 3902\n  listeners:\n  - routes:\n    - name: ${name}\n      backends:\n      - host: localhost:18080\n        policies:\n          backendAuth:\n            oauthTokenExchange:\n${policies}`;
    const good = await write('tx.yaml', `binds:\n${route('              host: https://idp.example.com\n              path: /oauth2/token\n              grantType: jwtBearer\n              clientAuth: { clientId: app, clientSecret: s3cret, method: clientSecretPost }\n              scopes: [a, b]\n              resources: [https://api.example.com]\n              additionalParams: { requested_token_use: \'"on_behalf_of"\' }\n              cache: { maxEntries: 50 }\n')}`);
    const { config } = await loadConfig(good, builtinPolicies, builtinBackends);
    const r = config.binds[0].listeners[0].routes[0];
    assert.deepEqual(r.policies.backendAuth, {
      tokenExchange: {
        tokenEndpoint: 'https://idp.example.com/oauth2/token',
        grantType: 'jwtBearer',
        clientId: 'app',
        clientSecret: { secret: 's3cret' },
        clientAuthMethod: 'post',
        resource: 'https://api.example.com',
        scope: 'a b',
        additionalParams: { requested_token_use: 'on_behalf_of' },
        cacheEntries: 50,
      },
    });
    assert.equal((r.backends[0].config as { policies?: unknown }).policies, undefined);
    const bad = await write('tx-bad.yaml', `binds:\n${route('              host: localhost:7080\n              audiences: [a, b]\n              clientAuth: { clientId: app, method: privateKeyJwt }\n              additionalParams: { x: \'request.headers["x"]\' }\n              actorToken: { source: { header: x } }\n')}`);
    const at = 'binds[0].listeners[0].routes[0].backends[0].policies.backendAuth.oauthTokenExchange';
    assert.deepEqual(await errorsOf(bad), [
      `${at}.clientAuth.method: agentgateway feature \`oauthTokenExchange.clientAuth.method privateKeyJwt\` is not supported by Portcullis (use clientSecretBasic or clientSecretPost)`,
      `${at}.audiences: agentgateway feature \`oauthTokenExchange.audiences (other than one)\` is not supported by Portcullis (give one audience)`,
      `${at}.additionalParams.x: agentgateway feature \`oauthTokenExchange.additionalParams (a CEL expression other than a string literal)\` is not supported by Portcullis (give the value as a quoted string literal)`,
      `${at}.actorToken: agentgateway feature \`oauthTokenExchange.actorToken\` is not supported by Portcullis (the subject is the caller's bearer token and the result is sent as Authorization: Bearer)`,
      // Validated as our policy, on the route it was lifted to.
      'binds[0].listeners[0].routes[0].policies.backendAuth.tokenExchange: needs audience or resource: the upstream the exchanged token is for',
    ]);
  });

  it('backendAuth.crossAppAccess is a tokenExchange for an ID-JAG chained to the resource authorization server; what cannot map is named', async () => {
    const cfg = (extra: string) =>
      `binds:\n- port: 3903\n  listeners:\n  - routes:\n    - policies:\n        backendAuth:\n          crossAppAccess:\n            identityProvider: { host: https://idp.example.com, path: /token, clientAuth: { clientId: agent, clientSecret: a, method: clientSecretPost } }\n            resourceAuthorizationServer: { host: "as.example.com:8443", path: /oauth/token, clientAuth: { clientId: res, clientSecret: r } }\n            audience: https://as.example.com/\n            scopes: [todos.read]\n${extra}      backends:\n      - host: api.example.com:443\n`;
    const { config } = await loadConfig(await write('xaa.yaml', cfg('            accessTokenScopes: [todos.read, todos.write]\n            cache: { defaultTtl: 1h }\n')), builtinPolicies, builtinBackends);
    assert.deepEqual(config.binds[0].listeners[0].routes[0].policies.backendAuth, {
      tokenExchange: {
        tokenEndpoint: 'https://idp.example.com/token',
        clientId: 'agent',
        clientSecret: { secret: 'a' },
        clientAuthMethod: 'post',
        requestedTokenType: 'urn:ietf:params:oauth:token-type:id-jag',
        subjectTokenType: 'urn:ietf:params:oauth:token-type:id_token',
        audience: 'https://as.example.com/',
        scope: 'todos.read',
        resourceAuthorizationServer: { tokenEndpoint: 'http://as.example.com:8443/oauth/token', clientId: 'res', clientSecret: { secret: 'r' }, clientAuthMethod: 'basic', scope: 'todos.read todos.write' },
        cacheTtlMs: 3_600_000,
      },
    });
    const at = 'binds[0].listeners[0].routes[0].policies.backendAuth.crossAppAccess';
    assert.deepEqual(await errorsOf(await write('xaa-bad.yaml', cfg('            resources: [a, b]\n            subjectToken: { source: { header: x-token } }\n            cache: { defaultTtl: soon }\n'))), [
      `${at}.resources: agentgateway feature \`crossAppAccess.resources (other than one)\` is not supported by Portcullis (give one resource)`,
      `${at}.subjectToken.source: agentgateway feature \`crossAppAccess.subjectToken.source (other than jwt.rawToken.unredacted())\` is not supported by Portcullis (the subject is the caller's bearer token)`,
      `${at}.cache.defaultTtl: expected a duration such as "500ms", "10s", "1m30s" or a number of milliseconds, got "soon"`,
    ]);
  });

  it('apiKey keyHash ("sha256:<hex>") is the digest; a malformed one is an error with its path', async () => {
    const hex = '1311f8fc80a7ea28d78dd7723f09c44c1754cd35160ca8e7133ae3d7f636a19a';
    const ok = await write('keyhash.yaml', `binds:\n- port: 3902\n  listeners:\n  - routes:\n    - policies:\n        apiKey:\n          keys:\n          - keyHash: "sha256:${hex.toUpperCase()}"\n            metadata: { group: sales }\n${EVERYTHING}`);
    const { config } = await loadConfig(ok, builtinPolicies, builtinBackends);
    const keys = (config.binds[0].listeners[0].routes[0].policies.apiKey as { keys: Array<{ name: string; sha256: string }> }).keys;
    assert.equal(keys[0].sha256, hex);
    assert.equal(keys[0].name, 'key0');
    const bad = await write('keyhash-bad.yaml', `binds:\n- port: 3902\n  listeners:\n  - routes:\n    - policies:\n        apiKey:\n          keys:\n          - keyHash: "md5:abc"\n${EVERYTHING}`);
    const errors = await errorsOf(bad);
    assert.ok(errors.some((e) => e.startsWith('binds[0].listeners[0].routes[0].policies.apiKey.keys[0].keyHash: expected "sha256:" and 64 hex digits')), errors.join('\n'));
  });

  it('localRateLimit as limit per unit is a rate limit of that window', async () => {
    const file = await write('rl.yaml', `binds:\n- port: 3903\n  listeners:\n  - routes:\n    - policies:\n        localRateLimit:\n        - { type: requests, limit: 50, unit: seconds }\n        - { limit: 1000, unit: hours }\n${EVERYTHING}`);
    const { config } = await loadConfig(file, builtinPolicies, builtinBackends);
    assert.deepEqual(config.binds[0].listeners[0].routes[0].policies.rateLimit, {
      limits: [
        { rate: { limit: 50, windowMs: 1_000, burst: 50 }, type: 'requests' },
        { rate: { limit: 1000, windowMs: 3_600_000, burst: 1000 } },
      ],
    });
  });

  it('config.tracing over OTLP/HTTP and over gRPC (its default) is our tracing block', async () => {
    const http = await write('tracing.yaml', `config:\n  tracing:\n    otlpEndpoint: http://localhost:4318/v1/traces\n    otlpProtocol: http\n    randomSampling: true\nbinds:\n- port: 3904\n  listeners:\n  - routes:\n    - policies: { directResponse: { status: 200 } }\n`);
    const { config } = await loadConfig(http, builtinPolicies, builtinBackends);
    assert.equal(config.telemetry.tracing?.endpoint, 'http://localhost:4318/v1/traces');
    assert.equal(config.telemetry.tracing?.protocol, 'http/protobuf');
    const grpc = await write('tracing-grpc.yaml', `config:\n  tracing:\n    otlpEndpoint: http://localhost:4317\nbinds:\n- port: 3904\n  listeners:\n  - routes:\n    - policies: { directResponse: { status: 200 } }\n`);
    const t = (await loadConfig(grpc, builtinPolicies, builtinBackends)).config.telemetry.tracing;
    // Without randomSampling agentgateway starts no trace of its own: only a caller's sampled traceparent is followed.
    assert.deepEqual([t?.protocol, t?.endpoint, t?.samplerRatio, t?.clientSamplerRatio], ['grpc', 'http://localhost:4317', 0, 1]);
  });
});
