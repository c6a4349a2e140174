import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { after, before, describe, it } from 'node:test';
import { sha256Hex } from '../../policies/api-key/index.ts';
import { CHANNELS, type ProcessEvent, type SessionEvent } from '../../core/telemetry/events.ts';
import { send, simpleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { connectClient, countTagged, MCP_TEST_EXTRA, mcpRoute, text, tinyStdio, waitUntil } from '../helpers/mcp.ts';
import { makeKey, sign, type SigningKey } from '../security/jwks-server.ts';

const INIT = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } };
// What the warm pool initializes its processes with until a client says otherwise: such a client takes one.
const INIT_LATEST = { ...INIT, params: { ...INIT.params, protocolVersion: '2025-11-25' } };
const HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
const ALICE = 'alice-key-0123456789';
const BOB = 'bob-key-0123456789';
const ISS = 'https://idp.hardening.test';
const AUD = 'portcullis-hardening';
const notFoundBody = (id: string) => ({ error: { code: 'PCL_ERR_MCP_SESSION_NOT_FOUND', message: `MCP session "${id.slice(0, 64)}" does not exist: it expired or was closed; initialize a new one` } });
const echo = (id: number | string, text: string) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'echo', arguments: { text } } });
const apiKeys = (extra: Record<string, unknown> = {}) => ({
  apiKey: { header: 'x-api-key', keys: [{ name: 'alice', sha256: sha256Hex(ALICE) }, { name: 'bob', sha256: sha256Hex(BOB) }], ...extra },
});
const at = (prefix: string, route: Record<string, unknown>) => ({ ...route, matches: [{ path: { pathPrefix: prefix } }] });

describe('MCP hardening: sessions bound to identities, caps, DNS-rebinding protection', () => {
  const tag = `hard-${randomUUID()}`;
  let gw: TestGateway;
  let key: SigningKey;
  const sessionEvents: SessionEvent[] = [];
  const processEvents: ProcessEvent[] = [];
  const onSession = (m: unknown) => void sessionEvents.push(m as SessionEvent);
  const onProcess = (m: unknown) => void processEvents.push(m as ProcessEvent);

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${gw.url()}${path}`, { method: 'POST', headers: { ...HEADERS, ...headers }, body: JSON.stringify(body) });

  async function open(path: string, headers: Record<string, string> = {}, init: unknown = INIT): Promise<string> {
    const res = await post(path, init, headers);
    assert.equal(res.status, 200, await res.clone().text());
    await res.arrayBuffer();
    return res.headers.get('mcp-session-id')!;
  }

  async function echoed(path: string, id: string, headers: Record<string, string>, word: string): Promise<string> {
    const res = await post(path, echo(7, word), { ...headers, 'mcp-session-id': id });
    assert.equal(res.status, 200);
    return ((await res.json()) as { result: { content: Array<{ text: string }> } }).result.content[0].text;
  }

  async function refused(pending: Promise<Response>, status: number, body: unknown): Promise<void> {
    const res = await pending;
    assert.equal(res.status, status);
    assert.deepEqual(await res.json(), body);
  }

  before(async () => {
    subscribe(CHANNELS.session, onSession);
    subscribe(CHANNELS.process, onProcess);
    key = await makeKey('hard-1', 'RS256');
    // The bare server: these tests call only `echo`, and each session and pooled process is a Node start.
    const target = (name: string, extra: Record<string, unknown> = {}) => tinyStdio(name, tag, { warmPool: 0, ...extra });
    gw = await startTestGateway(
      simpleConfig(
        [
          at('/owned', { ...mcpRoute([target('owned')], {}, 'owned'), policies: apiKeys() }),
          at('/optional', { ...mcpRoute([target('optional')], {}, 'optional'), policies: apiKeys({ mode: 'optional' }) }),
          at('/jwt', { ...mcpRoute([target('jwt')], {}, 'jwt'), policies: { jwtAuth: { issuer: ISS, audiences: [AUD], jwks: { inline: { keys: [key.jwk] } } } } }),
          at('/caps', { ...mcpRoute([target('caps')], { maxBatchSize: 3, maxSessions: 3, maxSessionsPerIdentity: 2 }, 'caps'), policies: apiKeys() }),
          at('/procs', mcpRoute([target('procs', { warmPool: 1, maxProcesses: 2 })], {}, 'procs')),
          at('/evict', mcpRoute([target('evict', { warmPool: 1, maxProcesses: 1 })], {}, 'evict')),
          at('/open', mcpRoute([target('open')], {}, 'open')),
          at('/cors', { ...mcpRoute([target('cors')], {}, 'cors'), policies: { cors: { allowOrigins: ['https://app.example.com', 'https://*.tools.dev'] } } }),
          at('/explicit', mcpRoute([target('explicit')], { dnsRebindingProtection: { allowedOrigins: ['https://ide.example.com'], allowedHosts: ['mcp.example.com'] } }, 'explicit')),
          at('/off', mcpRoute([target('off')], { dnsRebindingProtection: { enabled: false } }, 'off')),
        ],
        MCP_TEST_EXTRA,
      ),
    );
  });
  after(async () => {
    await gw?.close();
    unsubscribe(CHANNELS.session, onSession);
    unsubscribe(CHANNELS.process, onProcess);
    await waitUntil(() => countTagged(tag) === 0, 8000, 'every tagged process to exit');
  });

  it("another API key cannot use, stream or delete a session: it is unknown to them, and the owner is unaffected", async () => {
    const alice = { 'x-api-key': ALICE };
    const bob = { 'x-api-key': BOB };
    const id = await open('/owned/mcp', alice);
    assert.match(id, /^[A-Za-z0-9_-]{60,}$/, 'a sealed id: AES-256-GCM with a random IV, so it cannot be guessed');
    const unknown = randomUUID();
    for (const sid of [id, unknown]) {
      await refused(post('/owned/mcp', echo(2, 'steal'), { ...bob, 'mcp-session-id': sid }), 404, notFoundBody(sid));
      await refused(fetch(`${gw.url()}/owned/mcp`, { headers: { ...bob, accept: 'text/event-stream', 'mcp-session-id': sid } }), 404, notFoundBody(sid));
      await refused(fetch(`${gw.url()}/owned/mcp`, { method: 'DELETE', headers: { ...bob, 'mcp-session-id': sid } }), 404, notFoundBody(sid));
    }
    assert.equal(await echoed('/owned/mcp', id, alice, 'mine'), 'owned: mine');
    assert.equal((await fetch(`${gw.url()}/owned/mcp`, { method: 'DELETE', headers: { ...alice, 'mcp-session-id': id } })).status, 200);
    await refused(post('/owned/mcp', echo(3, 'gone'), { ...alice, 'mcp-session-id': id }), 404, notFoundBody(id));
  });

  it('legacy SSE: another identity posting to the session URL gets the unknown-session answer', async () => {
    const controller = new AbortController();
    const res = await fetch(`${gw.url()}/owned/sse`, { headers: { accept: 'text/event-stream', 'x-api-key': ALICE }, signal: controller.signal });
    const reader = res.body!.getReader();
    const m = /data: (\/owned\/sse\?sessionId=([A-Za-z0-9_-]+))/.exec(new TextDecoder().decode((await reader.read()).value))!;
    assert.ok(m);
    await refused(post(m[1], INIT, { 'x-api-key': BOB }), 404, notFoundBody(m[2]));
    const ok = await post(m[1], INIT, { 'x-api-key': ALICE });
    assert.equal(ok.status, 202);
    await ok.arrayBuffer();
    assert.match(new TextDecoder().decode((await reader.read()).value), /"id":1,"result":\{"protocolVersion":"2025-06-18"/);
    controller.abort();
  });

  it('a session opened with a credential is unknown to a request without one', async () => {
    const id = await open('/optional/mcp', { 'x-api-key': ALICE });
    await refused(post('/optional/mcp', echo(2, 'anon'), { 'mcp-session-id': id }), 404, notFoundBody(id));
    // And the other way: an anonymous session is not an identified caller's.
    const anon = await open('/optional/mcp');
    await refused(post('/optional/mcp', echo(2, 'x'), { 'x-api-key': ALICE, 'mcp-session-id': anon }), 404, notFoundBody(anon));
    assert.equal(await echoed('/optional/mcp', id, { 'x-api-key': ALICE }, 'still'), 'optional: still');
    assert.equal(await echoed('/optional/mcp', anon, {}, 'anon'), 'optional: anon');
  });

  it('JWT: a session belongs to the token subject that opened it', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = (sub: string) => sign(key, { iss: ISS, aud: AUD, sub, iat: now, exp: now + 300 });
    const one = { authorization: `Bearer ${await token('agent-1')}` };
    const two = { authorization: `Bearer ${await token('agent-2')}` };
    const id = await open('/jwt/mcp', one);
    await refused(post('/jwt/mcp', echo(2, 'x'), { ...two, 'mcp-session-id': id }), 404, notFoundBody(id));
    assert.equal(await echoed('/jwt/mcp', id, one, 'ok'), 'jwt: ok');
    assert.ok(sessionEvents.some((e) => e.event === 'open' && e.route === 'jwt' && e.sessionId === id && e.subject === 'agent-1'));
  });

  it('a batch over maxBatchSize is refused whole with its code; a batch at the limit is served', async () => {
    const h = { 'x-api-key': ALICE };
    const id = await open('/caps/mcp', h);
    const batch = (n: number) => Array.from({ length: n }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'ping' }));
    await refused(post('/caps/mcp', batch(4), { ...h, 'mcp-session-id': id }), 413, {
      error: { code: 'PCL_ERR_MCP_BATCH_TOO_LARGE', message: 'the JSON-RPC batch holds 4 messages, more than this MCP endpoint\'s limit of 3 (maxBatchSize): send smaller batches' },
    });
    const ok = await post('/caps/mcp', batch(3), { ...h, 'mcp-session-id': id });
    assert.equal(ok.status, 200);
    assert.equal(((await ok.json()) as unknown[]).length, 3);
    assert.ok(gw.logs.find((l) => l.msg === 'MCP batch refused' && l.size === 4 && l.limit === 3));
    assert.equal((await fetch(`${gw.url()}/caps/mcp`, { method: 'DELETE', headers: { ...h, 'mcp-session-id': id } })).status, 200);
  });

  it('sessions over maxSessionsPerIdentity (429) and maxSessions (503) are refused; open ones keep working', async () => {
    const alice = { 'x-api-key': ALICE };
    const bob = { 'x-api-key': BOB };
    const a1 = await open('/caps/mcp', alice);
    const a2 = await open('/caps/mcp', alice);
    await refused(post('/caps/mcp', INIT, alice), 429, {
      error: { code: 'PCL_ERR_MCP_SESSION_LIMIT', message: 'this identity already has 2 open MCP sessions on route "caps" (maxSessionsPerIdentity): close one (DELETE) before opening another' },
    });
    const b1 = await open('/caps/mcp', bob);
    await refused(post('/caps/mcp', INIT, bob), 503, {
      error: { code: 'PCL_ERR_MCP_SESSION_LIMIT', message: 'route "caps" already has 3 open MCP sessions (maxSessions): try again when one ends' },
    });
    assert.ok(gw.logs.find((l) => l.msg === 'MCP session limit reached' && l.status === 429));
    assert.ok(gw.logs.find((l) => l.msg === 'MCP session limit reached' && l.status === 503));
    assert.equal(await echoed('/caps/mcp', a1, alice, '1'), 'caps: 1');
    assert.equal(await echoed('/caps/mcp', a2, alice, '2'), 'caps: 2');
    assert.equal(await echoed('/caps/mcp', b1, bob, '3'), 'caps: 3');
    // A session that ends gives its place back.
    assert.equal((await fetch(`${gw.url()}/caps/mcp`, { method: 'DELETE', headers: { ...alice, 'mcp-session-id': a1 } })).status, 200);
    const a3 = await open('/caps/mcp', alice);
    assert.equal(await echoed('/caps/mcp', a3, alice, '4'), 'caps: 4');
    for (const [sid, h] of [[a2, alice], [a3, alice], [b1, bob]] as const) {
      assert.equal((await fetch(`${gw.url()}/caps/mcp`, { method: 'DELETE', headers: { ...h, 'mcp-session-id': sid } })).status, 200);
    }
    assert.ok(sessionEvents.some((e) => e.event === 'close' && e.route === 'caps' && e.sessionId === a1 && e.reason === 'delete'));
  });

  it('stdio.maxProcesses counts pooled and session processes; over it a session is refused and the others keep working', async () => {
    const procs = () => countTagged(`procs\u0000stdio\u0000--tag=${tag}`);
    await waitUntil(() => procs() === 1, 10_000, 'the pool to fill');
    const s1 = await open('/procs/mcp', {}, INIT_LATEST);
    await waitUntil(() => procs() === 2, 10_000, 'the pool to refill');
    const s2 = await open('/procs/mcp', {}, INIT_LATEST);
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(procs(), 2, 'the pool does not refill beyond the limit');
    await refused(post('/procs/mcp', INIT_LATEST), 503, {
      error: { code: 'PCL_ERR_MCP_PROCESS_LIMIT', message: 'route "procs": target "procs" already runs 2 processes (stdio.maxProcesses): no session can start another until one ends' },
    });
    assert.ok(gw.logs.find((l) => l.msg === 'MCP process limit reached' && l.route === 'procs' && l.limit === 2));
    assert.equal(procs(), 2);
    assert.equal(await echoed('/procs/mcp', s1, {}, 'a'), 'procs: a');
    assert.equal(await echoed('/procs/mcp', s2, {}, 'b'), 'procs: b');
    assert.equal((await fetch(`${gw.url()}/procs/mcp`, { method: 'DELETE', headers: { 'mcp-session-id': s1 } })).status, 200);
    await waitUntil(() => procs() === 1, 5000, 'the closed session process to exit');
    const s3 = await open('/procs/mcp', {}, INIT_LATEST);
    assert.equal(await echoed('/procs/mcp', s3, {}, 'c'), 'procs: c');
    const started = processEvents.filter((e) => e.route === 'procs' && e.event === 'start');
    const exited = processEvents.filter((e) => e.route === 'procs' && e.event === 'exit');
    assert.ok(started.some((e) => e.pooled === true && e.pid! > 0) && started.some((e) => e.pooled === false), JSON.stringify(started));
    assert.ok(exited.length >= 1, 'the deleted session process published its exit');
    for (const sid of [s2, s3]) await (await fetch(`${gw.url()}/procs/mcp`, { method: 'DELETE', headers: { 'mcp-session-id': sid } })).arrayBuffer();
  });

  it('at the process limit, an idle pooled process initialized for other clients gives way to a session', async () => {
    const evict = () => countTagged(`evict\u0000stdio\u0000--tag=${tag}`);
    await waitUntil(() => evict() === 1, 10_000, 'the pool to fill');
    // The pool was filled for clients without capabilities; this one declares sampling.
    const id = await open('/evict/mcp', {}, { ...INIT, params: { ...INIT.params, capabilities: { sampling: {} } } });
    assert.equal(await echoed('/evict/mcp', id, {}, 'room'), 'evict: room');
    assert.equal(evict(), 1);
    await (await fetch(`${gw.url()}/evict/mcp`, { method: 'DELETE', headers: { 'mcp-session-id': id } })).arrayBuffer();
  });

  it('DNS rebinding: a loopback listener refuses other Host names and foreign Origins, with their codes', async () => {
    const base = gw.url();
    const own = `127.0.0.1:${gw.port()}`;
    const body = JSON.stringify(INIT);
    const attempt = (path: string, headers: Record<string, string>) => send(`${base}${path}`, { method: 'POST', headers: { ...HEADERS, ...headers }, body });
    const hostRefused = (host: string) => ({
      error: { code: 'PCL_ERR_MCP_HOST_FORBIDDEN', message: `Host "${host}" is not allowed on this MCP endpoint (DNS-rebinding protection): list it in the MCP backend's dnsRebindingProtection.allowedHosts` },
    });
    const originRefused = (origin: string) => ({
      error: {
        code: 'PCL_ERR_MCP_ORIGIN_FORBIDDEN',
        message: `Origin "${origin}" is not allowed on this MCP endpoint (DNS-rebinding protection): list it in the route's cors.allowOrigins or the MCP backend's dnsRebindingProtection.allowedOrigins`,
      },
    });
    const cases: Array<[string, Record<string, string>, number, unknown?]> = [
      // The conformance suite's rebinding request: a foreign name in Host and Origin.
      ['/open/mcp', { host: 'evil.example.com', origin: 'http://evil.example.com' }, 403, hostRefused('evil.example.com')],
      ['/open/mcp', { host: `evil.example.com:${gw.port()}` }, 403, hostRefused(`evil.example.com:${gw.port()}`)],
      ['/open/mcp', { host: own, origin: 'http://evil.example.com' }, 403, originRefused('http://evil.example.com')],
      ['/open/mcp', { host: own, origin: 'null' }, 403, originRefused('null')],
      ['/open/mcp', { host: own, origin: `http://${own}` }, 200],
      ['/open/mcp', { host: `localhost:${gw.port()}`, origin: `http://localhost:${gw.port()}` }, 200],
      ['/open/mcp', { host: `[::1]:${gw.port()}` }, 200],
      ['/open/mcp', { host: own }, 200],
      // The route's CORS origins are allowed, wildcards included; others are not.
      ['/cors/mcp', { host: own, origin: 'https://app.example.com' }, 200],
      ['/cors/mcp', { host: own, origin: 'https://x.tools.dev' }, 200],
      ['/cors/mcp', { host: own, origin: 'https://evil.example.com' }, 403, originRefused('https://evil.example.com')],
      // The backend's own lists.
      ['/explicit/mcp', { host: 'mcp.example.com', origin: 'https://ide.example.com' }, 200],
      ['/explicit/mcp', { host: 'other.example.com' }, 403, hostRefused('other.example.com')],
      ['/explicit/mcp', { host: own, origin: 'https://app.example.com' }, 403, originRefused('https://app.example.com')],
      // Turned off.
      ['/off/mcp', { host: 'evil.example.com', origin: 'http://evil.example.com' }, 200],
    ];
    for (const [path, headers, status, expected] of cases) {
      const res = await attempt(path, headers);
      assert.equal(res.status, status, `${path} ${JSON.stringify(headers)}: ${res.text}`);
      if (expected) assert.deepEqual(res.json(), expected);
      const sid = res.headers['mcp-session-id'];
      if (typeof sid === 'string') await send(`${base}${path}`, { method: 'DELETE', headers: { ...headers, 'mcp-session-id': sid } });
    }
    // The GET stream and DELETE are guarded too, and the endpoint still serves afterwards.
    const get = await send(`${base}/open/mcp`, { headers: { host: 'evil.example.com', accept: 'text/event-stream', 'mcp-session-id': 'x' } });
    assert.equal(get.status, 403);
    assert.equal(get.json().error.code, 'PCL_ERR_MCP_HOST_FORBIDDEN');
    const legacy = await send(`${base}/open/sse`, { headers: { host: own, origin: 'http://evil.example.com', accept: 'text/event-stream' } });
    assert.equal(legacy.status, 403);
    assert.equal(legacy.json().error.code, 'PCL_ERR_MCP_ORIGIN_FORBIDDEN');
    const client = await connectClient(`${base}/open/mcp`);
    assert.equal(text(await client.callTool({ name: 'echo', arguments: { text: 'fine' } })), 'open: fine');
    await client.close();
  });
});

describe('MCP session stores are per route, not per display name', () => {
  const tag = `scope-${randomUUID()}`;
  let gw: TestGateway;
  after(async () => {
    await gw?.close();
    await waitUntil(() => countTagged(tag) === 0, 8000, 'every tagged process to exit');
  });

  it('two listeners on one bind, each with an unnamed MCP route: a session of one is unknown on the other', async () => {
    // Unnamed routes on both listeners get the same display name ("route0"); their sessions must still not mix.
    const listener = (hostname: string, target: string) => ({
      hostname,
      routes: [{ backends: [{ mcp: { targets: [tinyStdio(target, tag, { warmPool: 0 })], dnsRebindingProtection: { allowedHosts: [hostname] } } }] }],
    });
    gw = await startTestGateway({ binds: [{ port: 0, address: '127.0.0.1', listeners: [listener('a.test', 'alpha'), listener('b.test', 'beta')] }], ...MCP_TEST_EXTRA } as any);
    const url = `${gw.url()}/mcp`;
    const call = (host: string, body: unknown, sid?: string) =>
      send(url, { method: 'POST', headers: { ...HEADERS, host, ...(sid ? { 'mcp-session-id': sid } : {}) }, body: JSON.stringify(body) });
    const a = await call('a.test', INIT);
    assert.equal(a.status, 200, a.text);
    const sid = a.headers['mcp-session-id'] as string;
    assert.equal((await call('a.test', echo(2, 'here'), sid)).json().result.content[0].text, 'alpha: here');
    const other = await call('b.test', echo(3, 'there'), sid);
    assert.equal(other.status, 404);
    assert.deepEqual(other.json(), notFoundBody(sid));
    const del = await send(url, { method: 'DELETE', headers: { host: 'b.test', 'mcp-session-id': sid } });
    assert.equal(del.status, 404);
    // b.test serves its own sessions, and a.test's session is still there.
    const b = await call('b.test', INIT);
    assert.equal((await call('b.test', echo(4, 'own'), b.headers['mcp-session-id'] as string)).json().result.content[0].text, 'beta: own');
    assert.equal((await call('a.test', echo(5, 'still'), sid)).json().result.content[0].text, 'alpha: still');
  });
});
