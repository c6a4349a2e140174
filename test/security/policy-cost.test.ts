import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it, mock } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SignJWT, type JWTPayload } from 'jose';
import type { PolicyInstance, RequestContext } from '../../core/pipeline/index.ts';
import { analyzeInputRefs, compileRego, loadRegoPolicy, moduleInputRefs, RegoEvalError, type InputRefs } from '../../core/rego/index.ts';
import { RequestVars, StateStore } from '../../core/state/index.ts';
import { createLogger } from '../../core/telemetry/index.ts';
import { authorization } from '../../policies/authorization/index.ts';
import { httpInput, httpInputJson, mcpListItemInput, mcpMessageInput } from '../../policies/authorization/input.ts';
import { markSecretHeader } from '../../policies/authorization/secret-headers.ts';
import { createVerifier, TokenRejected } from '../../policies/jwt-auth/index.ts';
import { VERIFIED_CACHE_MAX, type Verifier } from '../../policies/jwt-auth/verifier.ts';
import { makeKey, sign, startJwksServer, type JwksServer, type SigningKey } from './jwks-server.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const EXAMPLE_REGO = join(REPO, 'examples/authorization/policy/authz.rego');
const silent = createLogger({ level: 'silent' });
const plain = (v: unknown) => JSON.parse(JSON.stringify(v));

/** A request context as the HTTP pipeline hands it to the authorization step. */
function context(roles: string[], headers: Record<string, string> = {}): RequestContext {
  return {
    id: 'req-1',
    clientHeaders: { authorization: 'Bearer secret', 'x-tenant': 'acme', ...headers },
    vars: new RequestVars(),
    clientAddress: '127.0.0.1',
    listenerName: 'l',
    routeName: 'mcp',
    method: 'POST',
    path: '/mcp',
    search: '?a=1',
    backendName: 'mcp/mcp',
    identity: { kind: 'jwt', subject: 'agent', roles, claims: { team: 'search', exp: 1 } },
    log: silent,
  } as unknown as RequestContext;
}

describe('Rego: what a policy reads of its input', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pcl-input-refs-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  let n = 0;
  /** The analysis as plain JSON (its objects have no prototype). */
  const refsOf = async (text: string, hash = `h${Date.now()}-${n++}`) => plain(await analyzeInputRefs({ sources: [{ file: 'p.rego', text }], baseDir: dir, hash, cacheDir: dir }));

  it('names the paths read: constant keys of every input reference, imports included', async () => {
    assert.deepEqual(await refsOf(await readFile(EXAMPLE_REGO, 'utf8')), { mcp: true, identity: { kind: true, roles: true } });
    const refs = await refsOf(
      [
        'package parts',
        'import rego.v1',
        'import input.request as req',
        '# input.secret only in a comment is not read',
        'tenant_ok if req.headers["x-tenant"] == "acme"',
        'tool_ok if input.mcp.tool in {"echo"}',
        'claim if { some k; input.identity.claims[k] == "x" }',
        'label := $"{input.route}"',
        'both if input.mcp.tool == input.mcp.prompt',
      ].join('\n'),
    );
    assert.deepEqual(refs, { request: true, mcp: { tool: true, prompt: true }, identity: { claims: true }, route: true });
  });

  it('means the whole input when a policy passes input whole, or names a key that is not a constant', async () => {
    assert.equal(await refsOf('package w\nimport rego.v1\nallow if count(object.keys(input)) > 0'), true);
    assert.equal(await refsOf('package w\nimport rego.v1\nallow if input[data.key] == 1'), true);
    assert.equal(await refsOf('package w\nimport rego.v1\nallow if json.marshal(input) != ""'), true);
    assert.equal(await refsOf('package w\nimport rego.v1\nallow if input.n == 1 with input as {"n": 1}'), true);
  });

  it('fails safe: a module it cannot parse, an AST it does not know, or no OPA mean the whole input', async () => {
    assert.equal(await refsOf('package broken\nallow if {'), true);
    assert.equal(moduleInputRefs({ rules: [] }, 'allow if input.x'), true, 'no package: not an AST this knows');
    assert.equal(moduleInputRefs({ package: {}, rules: [{ body: 'input.x as text' }] }, 'package p\nallow if input.x'), true, 'the source names input, the AST walk found no read');
    assert.deepEqual(plain(moduleInputRefs({ package: {} }, 'package p\n# input in a comment\nallow := true')), {});
    const missing = await analyzeInputRefs({ sources: [{ file: 'p.rego', text: 'package p\nallow if input.x' }], baseDir: dir, hash: `missing-${Date.now()}`, cacheDir: dir, opaPath: join(dir, 'no-opa') });
    assert.equal(missing, true);
  });

  it('keeps the analysis beside the compiled module, and redoes one written by another version', async () => {
    const hash = `kept-${Date.now()}`;
    assert.deepEqual(await refsOf('package k\nimport rego.v1\nallow if input.a.b', hash), { a: { b: true } });
    const file = join(dir, `${hash}.input.json`);
    const stored = JSON.parse(await readFile(file, 'utf8'));
    await writeFile(file, JSON.stringify({ ...stored, refs: { marker: true } }));
    assert.deepEqual(await refsOf('package k\nimport rego.v1\nallow if input.a.b', hash), { marker: true }, 'read from disk, not parsed again');
    await writeFile(file, JSON.stringify({ version: -1, refs: { marker: true } }));
    assert.deepEqual(await refsOf('package k\nimport rego.v1\nallow if input.a.b', hash), { a: { b: true } });
    await writeFile(file, JSON.stringify({ ...stored, refs: { a: 5 } }));
    assert.deepEqual(await refsOf('package k\nimport rego.v1\nallow if input.a.b', hash), { a: { b: true } }, 'a stored analysis of the wrong shape is made again');
  });
});

describe('authorization: the input holds only what the policy reads', () => {
  const refs = (r: InputRefs) => r;

  it('leaves out what is not read (the headers are not even copied), and credentials even when read', () => {
    const ctx = context(['reader']);
    assert.deepEqual(JSON.parse(JSON.stringify(httpInput(ctx, refs({ identity: { roles: true } })))), { identity: { roles: ['reader'] } });
    markSecretHeader(ctx, 'x-tenant');
    const headersOnly = JSON.parse(httpInputJson(ctx, refs({ request: { headers: true, query: true } })));
    assert.deepEqual(headersOnly, { request: { headers: {}, query: 'a=1' } });
    const other = context([], { 'x-custom': 'v' });
    assert.deepEqual(JSON.parse(httpInputJson(other, refs({ request: { headers: { 'x-custom': true, authorization: true } } }))), { request: { headers: { 'x-custom': 'v' } } });
  });

  it('gives the whole document when the policy reads it whole, as before', () => {
    const ctx = context(['reader']);
    const input = JSON.parse(mcpMessageInput(ctx, { method: 'tools/call', params: {}, target: 'everything', tool: 'echo', arguments: { message: 'hi' } }));
    assert.deepEqual(input, {
      identity: { kind: 'jwt', subject: 'agent', roles: ['reader'], claims: { team: 'search', exp: 1 } },
      request: { method: 'POST', path: '/mcp', query: 'a=1', headers: { 'x-tenant': 'acme' }, clientAddress: '127.0.0.1' },
      listener: 'l',
      route: 'mcp',
      backend: 'mcp/mcp',
      mcp: { method: 'tools/call', listing: false, target: 'everything', tool: 'echo', arguments: { message: 'hi' } },
    });
  });

  it('gives a message the request document itself when the policy never reads input.mcp', () => {
    const ctx = context(['reader']);
    const r = refs({ identity: { roles: true } });
    const base = httpInputJson(ctx, r);
    assert.equal(mcpMessageInput(ctx, { method: 'tools/call', params: {}, tool: 'echo' }, r), base);
    assert.equal(mcpListItemInput(ctx, { kind: 'tool', name: 'echo', target: 't', item: {} }, r), base);
  });

  it('rebuilds the request document for the backend chosen after the HTTP decision only when the policy reads it', () => {
    const ctx = context(['reader']);
    (ctx as any).backendName = undefined;
    const withBackend = refs({ backend: true, route: true });
    assert.equal(httpInputJson(ctx, withBackend), '{"route":"mcp"}');
    (ctx as any).backendName = 'mcp/mcp';
    assert.equal(httpInputJson(ctx, withBackend), '{"backend":"mcp/mcp","route":"mcp"}');
    const other = context(['reader']);
    (other as any).backendName = undefined;
    const routeOnly = refs({ route: true });
    assert.equal(httpInputJson(other, routeOnly), '{"route":"mcp"}');
    (other as any).backendName = 'mcp/mcp';
    assert.equal(httpInputJson(other, routeOnly), '{"route":"mcp"}');
  });

  it('cuts the message part down too, also when nothing else is read', () => {
    const ctx = context(['reader']);
    assert.equal(mcpMessageInput(ctx, { method: 'tools/call', params: {}, tool: 'echo', arguments: { big: 'x'.repeat(1000) } }, refs({ mcp: { tool: true } })), '{"mcp":{"tool":"echo"}}');
    assert.equal(
      mcpListItemInput(ctx, { kind: 'prompt', name: 'p', target: 't', item: {} }, refs({ identity: { kind: true }, mcp: { method: true, prompt: true, listing: true } })),
      '{"identity":{"kind":"jwt"},"mcp":{"method":"prompts/get","prompt":"p","listing":true}}',
    );
  });
});

describe('authorization: decisions reused only where they cannot differ', () => {
  let dir: string;
  let cacheDir: string;
  const instances: PolicyInstance[] = [];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pcl-decisions-'));
    cacheDir = join(dir, 'cache');
  });
  after(async () => {
    await Promise.all(instances.map((i) => i.close?.()));
    await rm(dir, { recursive: true, force: true });
  });

  async function load(source: string, entrypoint: string) {
    const file = join(dir, `${entrypoint.replace('/', '-')}.rego`);
    await writeFile(file, source);
    const compiled = await compileRego({ files: [file], entrypoint, baseDir: dir, cacheDir });
    return loadRegoPolicy({ wasm: compiled.wasm, entrypoint, data: {}, sources: compiled.sources });
  }

  it('reuses the decision of a pure policy for the same input, never an error, and never for a policy that reads the clock', async () => {
    const pure = await load('package d\nimport rego.v1\ndecision := {"allow": false, "reason": input.x} if input.x != "undefined"', 'd/decision');
    assert.equal(pure.pure, true);
    const first = pure.evaluateJson('{"x":"a"}');
    assert.deepEqual(first, { allow: false, reason: 'a' });
    assert.equal(pure.evaluateJson('{"x":"a"}'), first, 'the same decision object: not evaluated again');
    assert.deepEqual(pure.evaluateJson('{"x":"b"}'), { allow: false, reason: 'b' });
    for (let i = 0; i < 2; i++) assert.throws(() => pure.evaluateJson('{"x":"undefined"}'), RegoEvalError);
    const timed = await load('package t\nimport rego.v1\ndecision := {"allow": time.now_ns() > input.t, "reason": "clock"}', 't/decision');
    assert.equal(timed.pure, false);
    assert.notEqual(timed.evaluateJson('{"t":0}'), timed.evaluateJson('{"t":0}'));
  });

  it('decides MCP messages as the request when the policy never reads input.mcp; fails closed all the same', async () => {
    await writeFile(join(dir, 'roles.rego'), 'package authz\nimport rego.v1\ndefault allow := false\nallow if "admin" in input.identity.roles\nbroken := 1 / count(input.identity.roles) if true\n');
    const build = { baseDir: dir, path: 'test.authorization', upstream: {} as any, logger: silent, state: new StateStore(), scope: 'test' };
    const policy = await authorization.create({ rego: 'roles.rego' }, build);
    const broken = await authorization.create({ rego: 'roles.rego', entrypoint: 'authz/broken' }, build);
    instances.push(policy, broken);
    const admin = context(['admin']);
    await policy.step(admin, async () => {});
    assert.deepEqual(await policy.mcp!.onRequest!(admin, { method: 'tools/call', params: {}, tool: 'anything' }), { action: 'continue' });
    assert.equal(await policy.mcp!.allowListItem!(admin, { kind: 'tool', name: 'anything', target: 't', item: {} }), true);
    const reader = context(['reader']);
    await assert.rejects(Promise.resolve().then(() => policy.step(reader, async () => {})), (err: any) => err.code === 'PCL_ERR_FORBIDDEN');
    assert.equal((await policy.mcp!.onRequest!(reader, { method: 'tools/call', params: {}, tool: 'anything' })).action, 'deny');
    assert.equal(await policy.mcp!.allowListItem!(reader, { kind: 'tool', name: 'anything', target: 't', item: {} }), false);
    // No roles: 1 / 0 fails evaluation; the message is denied as an internal error every time, not remembered as allowed.
    const none = context([]);
    for (let i = 0; i < 2; i++) {
      const d = await broken.mcp!.onRequest!(none, { method: 'tools/call', params: {}, tool: 'x' });
      assert.equal(d.action, 'deny');
      assert.equal((d as any).code, -32603);
    }
  });
});

describe('jwtAuth: verified tokens remembered, never past what jose would accept', () => {
  const ISS = 'https://idp.test';
  const AUD = 'portcullis-test';
  let jwks: JwksServer;
  let one: SigningKey;
  let two: SigningKey;
  const state = new StateStore();
  before(async () => {
    [one, two] = await Promise.all([makeKey('k1'), makeKey('k2')]);
    jwks = await startJwksServer();
  });
  after(async () => {
    await jwks?.close();
  });
  afterEach(() => mock.timers.reset());

  const verifier = (jwksSource: Record<string, unknown>, extra: Record<string, unknown> = {}): Verifier =>
    createVerifier({ issuer: ISS, audiences: [AUD], jwks: jwksSource as any, baseDir: REPO, path: 'test.jwtAuth', state, logger: silent, ...extra });
  const claims = (now: number, extra: JWTPayload = {}): JWTPayload => ({ iss: ISS, aud: AUD, sub: 'agent', iat: now, exp: now + 60, ...extra });

  it('refuses a remembered token from the first millisecond jose would call it expired', async () => {
    const start = Math.floor(Date.now() / 1000) * 1000;
    mock.timers.enable({ apis: ['Date'], now: start });
    const v = verifier({ inline: { keys: [one.jwk] } }, { clockSkewSeconds: 5 });
    const token = await sign(one, claims(start / 1000));
    assert.equal((await v.verify(token)).subject, 'agent');
    assert.ok(v.cached(token), 'remembered after it verified');
    mock.timers.tick((60 + 5) * 1000 - 1);
    assert.ok(v.cached(token), 'still valid within exp + clock skew');
    mock.timers.tick(1);
    assert.equal(v.cached(token), undefined);
    await assert.rejects(v.verify(token), (err: Error) => err instanceof TokenRejected && err.message === 'token expired');
  });

  it('never remembers a refusal: a token not yet valid is accepted once it is', async () => {
    const start = Math.floor(Date.now() / 1000) * 1000;
    mock.timers.enable({ apis: ['Date'], now: start });
    const v = verifier({ inline: { keys: [one.jwk] } }, { clockSkewSeconds: 0 });
    const token = await sign(one, claims(start / 1000, { nbf: start / 1000 + 10 }));
    await assert.rejects(v.verify(token), (err: Error) => err.message === 'token not yet valid');
    mock.timers.tick(10_000);
    assert.equal((await v.verify(token)).subject, 'agent');
  });

  it('checks remembered tokens again once the key set was fetched again: a removed key stops being accepted', async () => {
    jwks.set('/rotation', [one]);
    const v = verifier({ url: jwks.url('/rotation'), minRefetchIntervalMs: 0 });
    const now = Math.floor(Date.now() / 1000);
    const old = await sign(one, claims(now));
    await v.verify(old);
    await v.verify(old);
    assert.ok(v.cached(old));
    jwks.set('/rotation', [two]);
    // A token under the new key: an unknown kid, so the set is fetched again, and every remembered token is stale.
    assert.equal((await v.verify(await sign(two, claims(now)))).subject, 'agent');
    assert.equal(v.cached(old), undefined);
    await assert.rejects(v.verify(old), (err: Error) => err.message === 'no signing key matches the token');
  });

  it('checks remembered tokens again once the key set is older than cacheMs', async () => {
    jwks.set('/aging', [one]);
    const start = Date.now();
    mock.timers.enable({ apis: ['Date'], now: start });
    const v = verifier({ url: jwks.url('/aging'), cacheMs: 60_000 });
    const token = await sign(one, claims(Math.floor(start / 1000), { exp: Math.floor(start / 1000) + 3600 }));
    await v.verify(token);
    await v.verify(token);
    const fetched = jwks.fetches('/aging');
    assert.ok(v.cached(token));
    jwks.set('/aging', [two]);
    mock.timers.tick(60_001);
    assert.equal(v.cached(token), undefined);
    await assert.rejects(v.verify(token), (err: Error) => err.message === 'no signing key matches the token');
    assert.ok(jwks.fetches('/aging') > fetched, 'fetched again');
  });

  it('remembers an HMAC token beside a JWKS that was never fetched: no key set fetch can change a secret', async () => {
    process.env.PCL_TEST_COST_HMAC = 'hmac-secret-for-tests-0123456789abcdef';
    jwks.set('/unused', [one]);
    const v = verifier({ url: jwks.url('/unused') }, { secret: { env: 'PCL_TEST_COST_HMAC' }, algorithms: ['HS256', 'RS256'] });
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT(claims(now)).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(process.env.PCL_TEST_COST_HMAC));
    await v.verify(token);
    assert.ok(v.cached(token));
    assert.equal(jwks.fetches('/unused'), 0);
  });

  it('remembers a bounded number of tokens, the least recently used leaving first, and per policy (audience and issuer still checked)', async () => {
    const secret = 'hmac-secret-for-tests-0123456789abcdef';
    process.env.PCL_TEST_COST_HMAC = secret;
    const v = verifier(undefined as any, { jwks: undefined, secret: { env: 'PCL_TEST_COST_HMAC' } });
    const key = new TextEncoder().encode(secret);
    const now = Math.floor(Date.now() / 1000);
    const tokens = await Promise.all(
      Array.from({ length: VERIFIED_CACHE_MAX + 1 }, (_, i) => new SignJWT(claims(now, { jti: `t${i}` })).setProtectedHeader({ alg: 'HS256' }).sign(key)),
    );
    for (const t of tokens.slice(0, VERIFIED_CACHE_MAX)) await v.verify(t);
    assert.ok(v.cached(tokens[0]), 'the first token, used again: now the most recent');
    await v.verify(tokens[VERIFIED_CACHE_MAX]);
    assert.ok(v.cached(tokens[0]));
    assert.equal(v.cached(tokens[1]), undefined, 'the least recently used one left');
    const elsewhere = verifier(undefined as any, { jwks: undefined, secret: { env: 'PCL_TEST_COST_HMAC' }, audiences: ['another-audience'] });
    assert.equal(elsewhere.cached(tokens[0]), undefined);
    await assert.rejects(elsewhere.verify(tokens[0]), (err: Error) => err.message === 'token audience is not accepted');
  });
});

describe('jose, opa-wasm and yaml load only when a policy needs them', () => {
  it('are not loaded by the gateway and its built-in policies, and are once a JWT or Rego policy is built', async () => {
    const script = `
      import { registerHooks } from 'node:module';
      const seen = new Set();
      registerHooks({ resolve(spec, ctx, next) { const r = next(spec, ctx); const m = /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(r.url); if (m) seen.add(m[1]); return r; } });
      const has = () => ['jose', '@open-policy-agent/opa-wasm', 'yaml'].filter((p) => seen.has(p));
      await import(${JSON.stringify(join(REPO, 'core/rego/index.ts'))});
      const rego = has();
      await import(${JSON.stringify(join(REPO, 'policies/index.ts'))});
      await import(${JSON.stringify(join(REPO, 'core/server/index.ts'))});
      const startup = has().filter((p) => p !== 'yaml');
      const { createVerifier } = await import(${JSON.stringify(join(REPO, 'policies/jwt-auth/index.ts'))});
      const { StateStore } = await import(${JSON.stringify(join(REPO, 'core/state/index.ts'))});
      const { buildRegoPolicy } = await import(${JSON.stringify(join(REPO, 'policies/authorization/index.ts'))});
      const v = createVerifier({ issuer: 'i', audiences: ['a'], secret: { secret: 'x'.repeat(32) }, baseDir: '/', path: 'p', state: new StateStore(), logger: { warn() {} } });
      await v.verify('a.b.c').catch(() => {});
      await buildRegoPolicy({ rego: ${JSON.stringify(EXAMPLE_REGO)} }, '/', 'p');
      console.log(JSON.stringify({ rego, startup, built: has() }));
    `;
    const out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['--no-node-snapshot', '--input-type=module', '-e', script], { cwd: REPO, timeout: 60_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout))),
    );
    const result = JSON.parse(out.trim().split('\n').pop()!);
    assert.deepEqual(result.rego, [], 'core/rego loads neither opa-wasm nor yaml by itself');
    assert.deepEqual(result.startup, [], 'the gateway and its built-in policies load neither jose nor opa-wasm');
    assert.deepEqual(result.built.filter((p: string) => p !== 'yaml').sort(), ['@open-policy-agent/opa-wasm', 'jose']);
  });
});
