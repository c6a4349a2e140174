import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { AsyncLocalStorage } from 'node:async_hooks';
import { context, ROOT_CONTEXT, trace, type Context, type ContextManager } from '@opentelemetry/api';
import { AdminObserver, decisionInput, errorLocation, isoNow } from '../../core/admin/observer.ts';
import { a2aEndpoints } from '../../core/admin/a2a-playground.ts';
import { policyChannel, requestChannel, type RequestEvent } from '../../core/telemetry/events.ts';
import { Ring } from '../../core/admin/ring.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { adminConfig, INGEST_KEY, READONLY_KEY } from './setup.ts';

interface Reply {
  status: number;
  body: any;
}

async function call(base: string, path: string, options: { method?: string; headers?: Record<string, string>; body?: unknown } = {}): Promise<Reply> {
  const res = await request(`${base}${path}`, {
    method: (options.method ?? 'GET') as 'GET',
    headers: options.headers,
    body: options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body),
  });
  const text = await res.body.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {
    // text
  }
  return { status: res.statusCode, body };
}

describe('admin API on loopback (no token)', () => {
  let gw: TestGateway;
  let base: string;
  let csrf: string;
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    call(base, path, { method: 'POST', headers: { 'content-type': 'application/json', 'x-portcullis-csrf': csrf, ...headers }, body });

  before(async () => {
    gw = await startTestGateway(adminConfig());
    base = `http://127.0.0.1:${gw.running.admin!.port}`;
    csrf = (await call(base, '/api/session')).body.csrf;
  });
  after(() => gw?.close());

  it('answers the session without a token, and refuses a non-loopback Host (DNS rebinding)', async () => {
    const s = await call(base, '/api/session');
    assert.equal(s.status, 200);
    assert.equal(s.body.tokenRequired, false);
    assert.match(s.body.csrf, /^[\w-]{20,}$/);
    const evil = await call(base, '/api/session', { headers: { host: 'evil.example:15000' } });
    assert.equal(evil.status, 403);
    assert.equal(evil.body.error.code, 'PCL_ERR_FORBIDDEN');
  });

  it('shows the config and its picture with secrets redacted, and the health of the warm pool', async () => {
    const config = await call(base, '/api/config');
    assert.equal(config.status, 200);
    const text = JSON.stringify(config.body);
    assert.ok(!text.includes('never-shown-9f8e'), 'an env value of a stdio target reached the browser');
    assert.equal(config.body.binds[0].listeners[0].routes[0].backends[0].mcp.targets[0].stdio.env.SECRET_VALUE, '[redacted]');
    const picture = await call(base, '/api/picture');
    const route = picture.body.binds[0].listeners[0].routes[0];
    assert.equal(route.name, 'mcp');
    assert.equal(route.protocol, 'mcp');
    assert.deepEqual(route.policies, ['apiKey', 'authorization']);
    assert.equal(route.url, `${gw.url()}/mcp`);
    const target = route.backends[0].targets[0];
    assert.equal(target.name, 'everything');
    assert.equal(target.kind, 'stdio');
    assert.equal(target.warmPool, 0, 'the configured warm pool (adminConfig turns it off)');
    assert.ok(['up', 'unknown'].includes(target.health.status));
  });

  it('refuses a POST without the CSRF token, from another origin, or not as JSON', async () => {
    const none = await call(base, '/api/mcp/list', { method: 'POST', headers: { 'content-type': 'application/json' }, body: { route: 'mcp' } });
    assert.equal(none.status, 403);
    assert.equal(none.body.error.code, 'PCL_ERR_ADMIN_CSRF');
    const cross = await post('/api/mcp/list', { route: 'mcp' }, { origin: 'http://evil.example' });
    assert.equal(cross.status, 403);
    assert.equal(cross.body.error.message, 'cross-origin admin call refused (Origin http://evil.example)');
    const form = await call(base, '/api/mcp/list', { method: 'POST', headers: { 'content-type': 'text/plain', 'x-portcullis-csrf': csrf }, body: '{}' });
    assert.equal(form.status, 403);
    assert.equal(form.body.error.message, 'admin POSTs must be application/json');
  });

  it('answers bad input with 400 and a message, wrong methods with 405, unknown paths with 404', async () => {
    const cases: Array<[Reply, number, string]> = [
      [await post('/api/mcp/list', { route: 'nope' }), 400, 'route: no route named "nope" in the running config'],
      [await post('/api/mcp/list', { route: 'mcp', path: 'mcp' }), 400, 'path: must start with "/", got "mcp"'],
      [await post('/api/mcp/list', { route: 'mcp', credential: { kind: 'password' } }), 400, 'credential: expected { kind: "none" | "apiKey" | "bearer", value, header? }'],
      [await post('/api/mcp/list', { route: 'mcp', credential: { kind: 'apiKey' } }), 400, 'credential.value: expected the API key'],
      [await post('/api/mcp/call', { route: 'mcp' }), 400, 'tool: expected a non-empty string, got nothing'],
      [await post('/api/mcp/call', { route: 'mcp', tool: 'echo', arguments: [1] }), 400, 'arguments: expected a JSON object'],
      [await post('/api/mcp/list', '{not json'), 400, `admin request body is not JSON: Expected property name or '}' in JSON at position 1 (line 1 column 2)`],
      [await post('/api/mcp/list', [1]), 400, 'admin request body must be a JSON object'],
      [await post('/api/policies/eval', { route: 'mcp', input: 3 }), 400, 'input: expected a JSON object (an AuthorizationInput)'],
      [await post('/api/policies/eval', { route: 'welcome', input: {} }), 400, 'route "welcome" has no authorization policy'],
      [await call(base, '/api/traffic?status=abc'), 400, 'status: expected a status (403) or a class (4xx), got "abc"'],
      [await call(base, '/api/mcp/list'), 405, '/api/mcp/list answers POST only'],
      [await post('/api/picture', {}), 405, '/api/picture answers GET only'],
      [await call(base, '/api/nothing'), 404, 'no admin endpoint /api/nothing'],
      [await call(base, '/api/traffic/unknown-id'), 404, 'no recent request unknown-id'],
      [await post('/api/a2a/send', { route: 'welcome', text: 'x', binding: 'grpc' }), 400, 'binding: expected "jsonrpc" or "rest", got "grpc"'],
      [await post('/api/a2a/card', { route: 'welcome', version: '2.0' }), 400, 'version: expected "0.3" or "1.0", got "2.0"'],
      [await post('/api/a2a/send', { route: 'welcome', text: 'x', binding: 'rest' }), 400, "binding: the agent's card (HTTP 404) names no HTTP+JSON interface for A2A 0.3; use JSON-RPC"],
    ];
    for (const [reply, status, message] of cases) {
      assert.equal(reply.status, status, JSON.stringify(reply.body));
      assert.equal(reply.body.error.message, message);
    }
  });

  it('lists and calls tools as a caller through the gateway, with the decisions and the raw exchange', async () => {
    const list = await post('/api/mcp/list', { route: 'mcp', credential: { kind: 'apiKey', value: READONLY_KEY } });
    assert.equal(list.status, 200);
    assert.equal(list.body.ok, true);
    const tools = list.body.tools.result.tools.map((t: { name: string }) => t.name);
    assert.ok(tools.includes('echo'));
    assert.ok(!tools.includes('gzip-file-as-resource'), 'a tool the caller may not use was listed');
    assert.ok(list.body.decisions.some((d: any) => d.policy === 'authorization' && d.level === 'message' && d.method === 'tools/list' && d.outcome === 'allow'));
    const init = list.body.exchange[0];
    assert.equal(init.request.body.method, 'initialize');
    assert.equal(init.request.headers.authorization, '[redacted]', 'the API key went back to the browser');
    assert.ok(!JSON.stringify(list.body).includes(READONLY_KEY));

    const ok = await post('/api/mcp/call', { route: 'mcp', credential: { kind: 'apiKey', value: READONLY_KEY }, tool: 'echo', arguments: { message: 'through the admin' } });
    assert.equal(ok.body.ok, true);
    assert.equal(ok.body.denied, false);
    assert.deepEqual(ok.body.reply.result.content, [{ type: 'text', text: 'Echo: through the admin' }]);

    const denied = await post('/api/mcp/call', { route: 'mcp', credential: { kind: 'apiKey', value: INGEST_KEY }, tool: 'echo', arguments: { message: 'x' } });
    assert.equal(denied.body.denied, true);
    assert.equal(denied.body.reply.error.message, 'Unknown tool: echo');
    assert.ok(denied.body.decisions.some((d: any) => d.policy === 'authorization' && d.method === 'tools/call' && d.outcome === 'deny'));

    const anonymous = await post('/api/mcp/call', { route: 'mcp', tool: 'echo' });
    assert.equal(anonymous.body.denied, true);
    assert.equal(anonymous.body.reply.httpStatus, 401);
  });

  it('keeps the traffic with messages and decisions, filters it, and streams new lines', async () => {
    const lines = (await call(base, '/api/traffic?route=mcp&method=tools/call&tool=echo&status=2xx')).body.lines;
    assert.ok(lines.length >= 2);
    for (const l of lines) {
      assert.equal(l.route, 'mcp');
      assert.ok(l.messages.some((m: any) => m.method === 'tools/call' && m.tool === 'echo'));
      // Each message line carries how long it took, timed from its start event.
      for (const m of l.messages) assert.ok(typeof m.durationMs === 'number' && m.durationMs >= 0, JSON.stringify(m));
    }
    const byIdentity = (await call(base, '/api/traffic?identity=data-ingest-agent&tool=echo')).body.lines;
    assert.ok(byIdentity.length >= 1);
    assert.ok(byIdentity.every((l: any) => l.identity === 'data-ingest-agent'));
    const one = await call(base, `/api/traffic/${encodeURIComponent(lines[0].id)}`);
    assert.equal(one.body.id, lines[0].id);

    const res = await request(`${base}/api/traffic/stream?route=welcome`, { headers: { accept: 'text/event-stream' } });
    assert.equal(res.headers['content-type'], 'text/event-stream');
    let text = '';
    const got = (async () => {
      for await (const chunk of res.body) {
        text += chunk;
        if (text.includes('event: access')) return;
      }
    })();
    await call(gw.url(), '/');
    await Promise.race([got, new Promise((_, reject) => setTimeout(() => reject(new Error(`no access event: ${text}`)), 5000))]);
    res.body.destroy();
    const data = JSON.parse(/event: access\ndata: (.*)\n/.exec(text)![1]);
    assert.equal(data.route, 'welcome');
    assert.equal(data.status, 200);
  });

  it('lists the policies with their Rego source, and evaluates a decision for an edited input', async () => {
    const policies = (await call(base, '/api/policies')).body.policies;
    const authz = policies.find((p: any) => p.name === 'authorization');
    assert.equal(authz.kind, 'rego');
    assert.deepEqual(authz.routes, ['mcp']);
    assert.match(authz.files[0].source, /package authz/);
    assert.equal(authz.files[1].source, undefined, 'data files are listed by name only');
    const input = (identity: string, roles: string[]) => ({ identity: { kind: 'apiKey', subject: identity, roles, claims: {} }, mcp: { method: 'tools/call', tool: 'echo', listing: false } });
    const allow = await post('/api/policies/eval', { route: 'mcp', input: input('readonly-agent', ['readonly']) });
    assert.deepEqual(allow.body, { route: 'mcp', entrypoint: 'authz/allow', allow: true });
    const deny = await post('/api/policies/eval', { route: 'mcp', input: input('data-ingest-agent', ['ingest']) });
    assert.equal(deny.body.allow, false);
  });

  it('records a failed reload with the file and line of the error, and a good one after it', async () => {
    await gw.write(adminConfig({ broken: true }));
    assert.equal((await gw.running.reload([gw.file])).ok, false);
    await gw.write(adminConfig());
    assert.equal((await gw.running.reload([gw.file])).ok, true);
    const reloads = (await call(base, '/api/reloads')).body.reloads;
    assert.equal(reloads.length, 2);
    assert.equal(reloads[0].ok, false);
    assert.equal(reloads[0].location.file, 'gateway.config.ts');
    assert.equal(typeof reloads[0].location.line, 'number');
    assert.equal(reloads[1].ok, true);
    const metrics = (await call(base, '/api/metrics')).body;
    assert.equal(metrics.window.totals.reloadsFailed, 1);
    assert.ok(metrics.window.totals.requests >= 5);
    assert.ok(metrics.window.totals.denials >= 1);
    assert.ok(Array.isArray(metrics.prometheus));
  });
});

describe('admin token', () => {
  it('with admin.token set, a missing or wrong token is 401 and the right one passes', async () => {
    const gw = await startTestGateway(adminConfig({ admin: { token: { secret: 'admin-test-token-1' } } }));
    try {
      const base = `http://127.0.0.1:${gw.running.admin!.port}`;
      const missing = await call(base, '/api/session');
      assert.equal(missing.status, 401);
      assert.deepEqual(missing.body, { error: { code: 'PCL_ERR_ADMIN_UNAUTHORIZED', message: 'the admin API needs its token: Authorization: Bearer <admin token>' } });
      const wrong = await call(base, '/config_dump', { headers: { authorization: 'Bearer nope' } });
      assert.equal(wrong.status, 401);
      assert.equal(wrong.body.error.message, 'wrong admin token');
      const right = await call(base, '/api/session', { headers: { authorization: 'Bearer admin-test-token-1' } });
      assert.equal(right.status, 200);
      assert.equal(right.body.tokenRequired, true);
      const dump = await call(base, '/config_dump', { headers: { authorization: 'Bearer admin-test-token-1' } });
      assert.equal(dump.body.admin.token.secret, '[redacted]');
      // The page itself loads without the token: it asks for it when the API says 401.
      const page = await request(`${base}/ui`);
      assert.equal(page.statusCode, 200);
      assert.match(String(page.headers['content-security-policy']), /default-src 'self'/);
      await page.body.text();
      // Only the build's own files: no way out of ui/dist, whatever the encoding.
      for (const path of ['/ui/..%2f..%2fpackage.json', '/ui/assets/..%2f..%2f..%2fpackage.json', '/ui/%E0%A4%A', '/ui/assets/missing.js']) {
        const res = await request(`${base}${path}`);
        const text = await res.body.text();
        assert.ok(!text.includes('"name": "portcullis"'), `${path} served package.json`);
        if (path.startsWith('/ui/assets/') || path.includes('%E0')) assert.equal(res.statusCode, 404, path);
      }
    } finally {
      await gw.close();
    }
  });

  it('bound beyond loopback with no token configured, generates one and prints it at start', async () => {
    const printed: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => {
      printed.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    let gw: TestGateway;
    try {
      gw = await startTestGateway(adminConfig({ admin: { address: '0.0.0.0:0' } }));
    } finally {
      process.stderr.write = write;
    }
    try {
      const line = printed.find((l) => l.includes('admin token'));
      assert.ok(line, 'no token printed');
      const token = /admin token (\S+)/.exec(line!)![1];
      const base = `http://127.0.0.1:${gw.running.admin!.port}`;
      assert.equal((await call(base, '/api/session')).status, 401);
      assert.equal((await call(base, '/api/session', { headers: { authorization: `Bearer ${token}` } })).status, 200);
    } finally {
      await gw.close();
    }
  });

  it('refuses an admin.token that names two sources, with its path', async () => {
    await assert.rejects(startTestGateway(adminConfig({ admin: { token: { env: 'X', secret: 'y' } } })), (err: Error) => {
      assert.equal(err.message.split('\n')[1], 'admin.token: expected exactly one of secret, env, file, got secret, env');
      return true;
    });
  });

  it('refuses a token from an unset environment variable at start, naming it', async () => {
    delete process.env.PCL_TEST_ADMIN_TOKEN_UNSET;
    await assert.rejects(startTestGateway(adminConfig({ admin: { token: { env: 'PCL_TEST_ADMIN_TOKEN_UNSET' } } })), {
      message: 'admin.token.env: environment variable PCL_TEST_ADMIN_TOKEN_UNSET is not set',
    });
  });
});

describe('reload error locations', () => {
  it('reads file, line and column, or the file and the config path', () => {
    assert.deepEqual(errorLocation('cannot bundle /x/gateway.config.ts:\ngateway.config.ts:3:1: Expected "]" but found end of file'), { file: 'gateway.config.ts', line: 3, column: 1 });
    assert.deepEqual(errorLocation('invalid configuration in /x/gateway.config.ts:\nbinds[0].port: expected integer, got string'), { file: '/x/gateway.config.ts', path: 'binds[0].port' });
    assert.deepEqual(errorLocation('policy/authz.rego:12: rego_parse_error: unexpected }'), { file: 'policy/authz.rego', line: 12 });
    assert.equal(errorLocation('something else'), undefined);
  });
});

describe('observer helpers', () => {
  it('isoNow matches toISOString, across second boundaries', () => {
    for (const t of [0, 999, 1000, 1732838400123, 1732838400999, 1732838401000]) assert.equal(isoNow(t), new Date(t).toISOString());
  });

  it('a ring keeps the newest items in order and returns what it drops', () => {
    const r = new Ring<number>(3);
    assert.equal(r.push(1), undefined);
    r.push(2);
    r.push(3);
    assert.equal(r.push(4), 1);
    assert.equal(r.push(5), 2);
    assert.deepEqual(r.all(), [3, 4, 5]);
    assert.equal(r.size, 3);
  });
});

/** The smallest OpenTelemetry context manager: the active context in an AsyncLocalStorage. */
class StorageContextManager implements ContextManager {
  private readonly storage = new AsyncLocalStorage<Context>();
  active(): Context {
    return this.storage.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    return this.storage.run(ctx, () => fn.call(thisArg, ...args));
  }
  bind<T>(_ctx: Context, target: T): T {
    return target;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.storage.disable();
    return this;
  }
}

describe('trace ids', () => {
  it('a decision taken inside an OpenTelemetry span carries its trace id, and so does its request line', () => {
    const manager = new StorageContextManager();
    context.setGlobalContextManager(manager);
    const observer = new AdminObserver('gw-trace');
    try {
      const traceId = '0af7651916cd43dd8448eb211c80319c';
      const span = trace.wrapSpanContext({ traceId, spanId: 'b7ad6b7169203331', traceFlags: 1 });
      const e: RequestEvent = { id: 'req-trace-1', method: 'GET', path: '/', host: 'h', clientAddress: '127.0.0.1', scheme: 'http', bind: 'b', startedAt: 0, gateway: 'gw-trace' };
      requestChannel.start.publish(e);
      context.with(trace.setSpan(context.active(), span), () =>
        policyChannel.publish({ requestId: e.id, route: 'r', policy: 'authorization', level: 'http', outcome: 'deny', reason: 'no' }),
      );
      e.status = 403;
      e.durationMs = 1;
      requestChannel.end.publish(e);
      const line = observer.line(e.id)!;
      assert.equal(line.decisions[0].traceId, traceId);
      assert.equal(line.traceId, traceId);
      // Without a span, no trace id is made up.
      const other: RequestEvent = { ...e, id: 'req-trace-2' };
      requestChannel.start.publish(other);
      requestChannel.end.publish(other);
      assert.equal(observer.line(other.id)!.traceId, undefined);
    } finally {
      observer.close();
      context.disable();
    }
  });
});

describe('A2A playground: endpoints from a card', () => {
  it('reads a v1.0 card\'s supportedInterfaces for the version, and a v0.3 card\'s url and additionalInterfaces, as paths', () => {
    const v10 = {
      supportedInterfaces: [
        { url: 'http://gw:3600/agents/r/a2a/jsonrpc', protocolBinding: 'JSONRPC', protocolVersion: '1.0' },
        { url: 'http://gw:3600/agents/r/a2a/rest', protocolBinding: 'HTTP+JSON', protocolVersion: '1.0' },
        { url: 'http://gw:3600/agents/r/v03', protocolBinding: 'JSONRPC', protocolVersion: '0.3' },
        { url: 'http://gw:3600/agents/r/grpc', protocolBinding: 'GRPC', protocolVersion: '1.0' },
      ],
    };
    assert.deepEqual(a2aEndpoints(v10, '1.0'), { jsonrpc: '/agents/r/a2a/jsonrpc', rest: '/agents/r/a2a/rest' });
    assert.deepEqual(a2aEndpoints(v10, '0.3'), { jsonrpc: '/agents/r/v03', rest: '/agents/r/a2a/rest' });
    const v03 = { url: 'http://gw/agents/r/a2a/jsonrpc/', additionalInterfaces: [{ url: 'http://gw/agents/r/a2a/rest', transport: 'HTTP+JSON' }] };
    assert.deepEqual(a2aEndpoints(v03, '0.3'), { jsonrpc: '/agents/r/a2a/jsonrpc', rest: '/agents/r/a2a/rest' });
    assert.deepEqual(a2aEndpoints({ url: 'http://gw/x', preferredTransport: 'HTTP+JSON' }, '0.3'), { rest: '/x' });
    assert.deepEqual(a2aEndpoints('not a card', '1.0'), {});
    assert.deepEqual(a2aEndpoints({ url: 'not a url' }, '0.3'), {});
  });
});

describe('decision inputs shown by the admin UI', () => {
  it('are the recorded JSON with values under secret-looking keys redacted, headers and other values as they were', () => {
    const input = decisionInput(JSON.stringify({
      identity: { kind: 'apiKey', subject: 'a', roles: ['r'], claims: { api_key: 'k-1' } },
      request: { headers: { 'x-tenant': 'acme' } },
      mcp: { tool: 'login', arguments: { user: 'u', password: 'p-2', nested: { token: 't-3' } } },
    }));
    assert.deepEqual(input, {
      identity: { kind: 'apiKey', subject: 'a', roles: ['r'], claims: { api_key: '[redacted]' } },
      request: { headers: { 'x-tenant': 'acme' } },
      mcp: { tool: 'login', arguments: { user: 'u', password: '[redacted]', nested: { token: '[redacted]' } } },
    });
    assert.equal(decisionInput('{not json'), undefined);
  });
});
