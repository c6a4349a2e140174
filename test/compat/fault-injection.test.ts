import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../core/config/index.ts';
import { builtinPolicies } from '../../policies/index.ts';
import { builtinBackends } from '../../core/gateway/backends.ts';
import { configSource, echoUpstream, send, simpleConfig, startTestGateway, type TestGateway, type Upstream } from '../helpers/gateway.ts';

/** Time of one request, in ms. */
async function timed(url: string, headers: Record<string, string> = {}): Promise<{ ms: number; status: number; text: string }> {
  const started = performance.now();
  const res = await send(url, { headers });
  return { ms: performance.now() - started, status: res.status, text: res.text };
}

describe('fault injection: delay and abort', () => {
  let upstream: Upstream;
  let gw: TestGateway;
  before(async () => {
    upstream = await echoUpstream();
    const route = (prefix: string, policies: Record<string, unknown>) => ({ matches: [{ path: { pathPrefix: prefix } }], policies, backends: [{ host: upstream.host }] });
    gw = await startTestGateway(
      simpleConfig([
        route('/fixed', { delay: { duration: '300ms' } }),
        route('/number', { delay: { duration: 250 } }),
        route('/cel', { delay: { duration: 'request.headers["x-chaos"] == "1" ? 400 : 0' } }),
        route('/celdur', { delay: { duration: 'duration("350ms")' } }),
        route('/celfail', { delay: { duration: 'int(request.headers["x-missing"])' } }),
        route('/never', { delay: { duration: '5s', percentage: 0 } }),
        route('/timeout', { delay: { duration: '2s' }, timeout: { requestTimeoutMs: 300 } }),
        route('/abort', { abort: { status: 503, body: 'injected fault', headers: { 'retry-after': '1' } } }),
        route('/abort-cond', { abort: [{ condition: 'request.headers["x-chaos"] == "abort"', status: 500 }, { condition: 'request.headers["x-chaos"] == "teapot"', status: 418, body: 'tea' }] }),
        route('/abort-share', { abort: { status: 503, percentage: 25 } }),
      ] as never),
    );
  });
  after(async () => {
    await gw?.close();
    await upstream?.close();
  });

  it('delay: a fixed duration, a number of ms, a CEL expression (ms or duration) delays before the backend answers', async () => {
    const fixed = await timed(`${gw.url()}/fixed`);
    assert.equal(fixed.status, 200);
    assert.ok(fixed.ms >= 290, `took ${fixed.ms} ms`);
    assert.ok((await timed(`${gw.url()}/number`)).ms >= 240);
    assert.ok((await timed(`${gw.url()}/celdur`)).ms >= 340);
    const chaos = await timed(`${gw.url()}/cel`, { 'x-chaos': '1' });
    assert.equal(chaos.status, 200);
    assert.ok(chaos.ms >= 390, `took ${chaos.ms} ms`);
    assert.ok((await timed(`${gw.url()}/cel`)).ms < 390, 'no header: no delay');
  });

  it('delay: an expression that fails to evaluate, or a 0 % share, adds nothing', async () => {
    const failed = await timed(`${gw.url()}/celfail`);
    assert.equal(failed.status, 200);
    assert.ok(failed.ms < 1000);
    const never = await timed(`${gw.url()}/never`);
    assert.equal(never.status, 200);
    assert.ok(never.ms < 1000);
  });

  it('delay counts against the route\'s timeout: a delay longer than it is a 504', async () => {
    const r = await timed(`${gw.url()}/timeout`);
    assert.equal(r.status, 504);
    assert.ok(r.ms < 1500, `took ${r.ms} ms`);
    assert.equal(upstream.seen.filter((req) => req.url === '/timeout').length, 0, 'the backend never saw it');
  });

  it('abort: answers with the configured status, body and headers without reaching the backend', async () => {
    const before = upstream.seen.length;
    const r = await send(`${gw.url()}/abort`);
    assert.equal(r.status, 503);
    assert.equal(r.text, 'injected fault');
    assert.equal(r.headers['retry-after'], '1');
    assert.equal(upstream.seen.length, before);
  });

  it('abort: rules are tried in order; a request none fires for reaches the backend', async () => {
    assert.equal((await send(`${gw.url()}/abort-cond`, { headers: { 'x-chaos': 'abort' } })).status, 500);
    const tea = await send(`${gw.url()}/abort-cond`, { headers: { 'x-chaos': 'teapot' } });
    assert.equal(tea.status, 418);
    assert.equal(tea.text, 'tea');
    const through = await send(`${gw.url()}/abort-cond`);
    assert.equal(through.status, 200);
    assert.equal(through.json().upstream, 'echo');
  });

  it('abort: percentage aborts about that share of requests', async () => {
    let aborted = 0;
    const n = 200;
    for (let i = 0; i < n; i++) if ((await send(`${gw.url()}/abort-share`)).status === 503) aborted++;
    // 25 % of 200 is 50 (standard deviation about 6): far outside 20..80 means the share is not applied.
    assert.ok(aborted > 20 && aborted < 80, `${aborted} of ${n} aborted`);
  });
});

describe('fault injection: bad input is a config error with its path', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pcl-fault-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function errors(policies: Record<string, unknown>, name = 'gateway.config.ts', text?: string): Promise<string[]> {
    const file = join(dir, name);
    await writeFile(file, text ?? configSource(simpleConfig([{ policies, backends: [{ host: '127.0.0.1:1' }] }] as never)));
    try {
      await loadConfig(file, builtinPolicies, builtinBackends);
    } catch (err) {
      assert.equal((err as { code?: string }).code, 'PCL_ERR_CONFIG_INVALID', (err as Error).message);
      return (err as Error).message.split('\n').slice(1);
    }
    throw new Error('expected a config error');
  }
  const p = 'binds[0].listeners[0].routes[0].policies';

  it('delay: a duration that is neither a duration nor CEL, a CEL result that is not a number, too long, a bad share', async () => {
    assert.deepEqual(await errors({ delay: { duration: 'random( < 1' } }), [`${p}.delay.duration: invalid CEL expression "random( < 1": Unexpected token: LT (column 9) (a duration such as "2s", or an expression giving milliseconds such as 'random() < 0.1 ? 2000 : 0')`]);
    assert.deepEqual(await errors({ delay: { duration: '"slow"' } }), [`${p}.delay.duration: invalid CEL expression "\\"slow\\"": the expression must be of type int or uint or double or google.protobuf.Duration, it is of type string (a duration such as "2s", or an expression giving milliseconds such as 'random() < 0.1 ? 2000 : 0')`]);
    assert.deepEqual(await errors({ delay: { duration: '10m' } }), [`${p}.delay.duration: at most 300s, got "10m"`]);
    assert.deepEqual(await errors({ delay: { duration: -5 } }), [`${p}.delay.duration: expected milliseconds from 0 to 300000, got -5`]);
    assert.deepEqual(await errors({ delay: { duration: '1s', percentage: 120 } }), [`${p}.delay.percentage: must be <= 100, got 120`]);
    assert.deepEqual(await errors({ delay: {} }), [`${p}.delay.duration: is required (duration or CEL expression)`]);
  });

  it('abort: a status out of range, an empty rule list, a condition that does not compile', async () => {
    assert.deepEqual(await errors({ abort: { status: 99 } }), [`${p}.abort.status: must be >= 200, got 99`]);
    assert.deepEqual(await errors({ abort: [] }), [`${p}.abort: expected 1 to 64 rules, got 0`]);
    assert.deepEqual(await errors({ abort: [{ status: 503, condition: 'nope == 1' }] }), [`${p}.abort[0].condition: invalid CEL expression "nope == 1": Unknown variable: nope (column 1)`]);
  });

  it("agentgateway's directResponse.conditional: an entry without condition that is not last, or an empty list", async () => {
    const yaml = (conditional: string) => `binds:\n- port: 3000\n  listeners:\n  - routes:\n    - policies:\n        directResponse:\n          conditional:${conditional}\n      backends:\n      - host: 127.0.0.1:1\n`;
    assert.deepEqual(await errors({}, 'a.yaml', yaml('\n          - status: 200\n          - condition: "true"\n            status: 503')), [`${p}.directResponse.conditional[0]: an entry without condition must be the last (it is the fallback)`]);
    assert.deepEqual(await errors({}, 'b.yaml', yaml(' []')), [`${p}.directResponse.conditional: expected a non-empty list of { condition, status, body }`]);
  });
});
