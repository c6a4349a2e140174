import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { send, simpleConfig, startTestGateway, startUpstream, type TestGateway, type Upstream } from '../helpers/gateway.ts';
import { connectClient, text } from '../helpers/mcp.ts';
import { everythingRoute } from '../helpers/filters.ts';

// The ready-made filters under attack: hostile texts up to the scan cap, content over it, and patterns that would
// make a backtracking engine stall the event loop (and with it every route of the gateway).
const MiB = 1024 * 1024;
const PII = 'write to jane.doe@example.com or call (415) 555-0100; card 5555 5555 5555 4444; ni AB 12 34 56 C';
const REDACTED = 'write to [REDACTED:email] or call [REDACTED:phone]; card [REDACTED:paymentCard]; ni [REDACTED:nationalId]';
const refusedMessage = (why: string) => `piiRedaction: ${why}; refused rather than passed unredacted (see maxScanBytes and oversized)`;

/** `unit` repeated to exactly `bytes` bytes (ASCII). */
const fill = (unit: string, bytes: number) => unit.repeat(Math.ceil(bytes / unit.length)).slice(0, bytes);

// Texts that defeated the old patterns (quadratic email scan, digit runs for cards and phones), each exactly 1 MiB.
const HOSTILE: Record<string, { body: string; unchanged: boolean }> = {
  'a': { body: fill('a', MiB), unchanged: true },
  'a@': { body: fill('a@', MiB), unchanged: true },
  'digits': { body: fill('1', MiB), unchanged: true },
  'a.a.a': { body: fill('a.', MiB), unchanged: true },
  'x@a.a.a': { body: `x@${fill('a.', MiB - 2)}`, unchanged: true },
  'a-a-a': { body: fill('a-', MiB), unchanged: true },
  '1-1-1': { body: fill('1-', MiB), unchanged: false },
  '1 1 1': { body: fill('1 ', MiB), unchanged: false },
  '+1 +1': { body: fill('+1 ', MiB), unchanged: false },
  '(12) ': { body: fill('(12) ', MiB), unchanged: false },
};

describe('ready-made filters: hostile inputs and content over the scan cap (HTTP)', () => {
  let gw: TestGateway;
  let up: Upstream;
  const acceptEncodings: Array<string | undefined> = [];
  before(async () => {
    up = await startUpstream((req, res) => {
      const url = decodeURIComponent(req.url ?? '');
      if (url.startsWith('/hostile/')) {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(HOSTILE[url.slice('/hostile/'.length)].body);
      } else if (url === '/hostile-json') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ a: fill('a@', MiB / 2 - 100), b: [fill('a.', MiB / 2 - 100)] }));
      } else if (url === '/real-big') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(`${PII} ${fill('a.', MiB - 2 * PII.length - 2)} ${PII}`);
      } else if (url === '/over') {
        const body = `${fill('z', MiB)} ${PII}`;
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(Buffer.byteLength(body)) });
        res.end(body);
      } else if (url === '/over-chunked') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        for (let i = 0; i < 20; i++) res.write(fill('z', 64 * 1024));
        res.end(PII);
      } else if (url === '/gzip') {
        acceptEncodings.push(req.headers['accept-encoding']);
        res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip' });
        res.end(gzipSync(PII));
      } else if (url === '/deep') {
        let value: unknown = { email: 'jane.doe@example.com' };
        for (let i = 0; i < 100; i++) value = [value];
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(value));
      } else {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('ok');
      }
    });
    const rewrite = { urlRewrite: { path: { prefix: '/' } } };
    gw = await startTestGateway(
      simpleConfig([
        { name: 'pii', matches: [{ path: { pathPrefix: '/pii' } }], policies: { piiRedaction: {}, ...rewrite }, backends: [{ host: up.host }] },
        { name: 'pass', matches: [{ path: { pathPrefix: '/pass' } }], policies: { piiRedaction: { maxScanBytes: 4096, oversized: 'pass' }, ...rewrite }, backends: [{ host: up.host }] },
        { name: 'plain', matches: [{ path: { pathPrefix: '/plain' } }], policies: { directResponse: { status: 200, body: 'plain' } } },
      ]),
    );
  });
  after(async () => {
    await gw?.close();
    await up?.close();
  });

  /** Requests another route every 50 ms while `work` runs: each must answer, and the slowest wait is returned. */
  async function whileProbing<T>(work: () => Promise<T>): Promise<{ result: T; probes: number; slowestProbeMs: number }> {
    let done = false;
    let probes = 0;
    let slowestProbeMs = 0;
    const probing = (async () => {
      while (!done) {
        const started = performance.now();
        const res = await send(`${gw.url()}/plain`);
        assert.equal(res.status, 200);
        assert.equal(res.text, 'plain');
        slowestProbeMs = Math.max(slowestProbeMs, performance.now() - started);
        probes++;
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    try {
      return { result: await work(), probes, slowestProbeMs };
    } finally {
      done = true;
      await probing;
    }
  }

  it('scans 1 MiB of each hostile text in bounded time, while another route keeps answering', async (t) => {
    for (const [name, { body, unchanged }] of Object.entries(HOSTILE)) {
      const started = performance.now();
      const { result: res, probes, slowestProbeMs } = await whileProbing(() => send(`${gw.url()}/pii/hostile/${encodeURIComponent(name)}`));
      const ms = performance.now() - started;
      t.diagnostic(`${name}: ${Math.round(ms)} ms for 1 MiB; other route answered ${probes} times, slowest ${Math.round(slowestProbeMs)} ms`);
      assert.equal(res.status, 200, res.text.slice(0, 300));
      if (unchanged) assert.equal(res.text, body, `${name} has no PII and comes back unchanged`);
      assert.ok(ms < 30_000, `${name}: ${ms} ms`);
      assert.ok(probes >= 1 && slowestProbeMs < 15_000, `${name}: other route waited ${slowestProbeMs} ms`);
    }
  });

  it('scans a 1 MiB hostile JSON body in bounded time', async (t) => {
    const started = performance.now();
    const res = await send(`${gw.url()}/pii/hostile-json`);
    t.diagnostic(`hostile JSON: ${Math.round(performance.now() - started)} ms`);
    assert.equal(res.status, 200);
    assert.equal(res.json().a.length, MiB / 2 - 100);
  });

  it('still finds real PII at both ends of a 1 MiB hostile body', async () => {
    const res = await send(`${gw.url()}/pii/real-big`);
    assert.equal(res.status, 200);
    assert.ok(res.text.startsWith(`${REDACTED} a.a.`), res.text.slice(0, 200));
    assert.ok(res.text.endsWith(` ${REDACTED}`), res.text.slice(-200));
  });

  it('refuses a body over maxScanBytes (declared length) with 502 PCL_ERR_FILTER_CONTENT_TOO_LARGE', async () => {
    const res = await send(`${gw.url()}/pii/over`);
    assert.equal(res.status, 502);
    assert.deepEqual(res.json(), { error: { code: 'PCL_ERR_FILTER_CONTENT_TOO_LARGE', message: refusedMessage(`the response body (${MiB + 1 + PII.length} bytes) is larger than maxScanBytes (${MiB})`) } });
    assert.ok(!res.text.includes('jane.doe'));
    const line = await gw.logs.waitFor((l) => l.msg === 'piiRedaction: response refused');
    assert.equal(line.route, 'pii');
    assert.equal((await send(`${gw.url()}/pii/real-big`)).status, 200, 'still serves');
  });

  it('refuses a streamed body that grows over maxScanBytes', async () => {
    const res = await send(`${gw.url()}/pii/over-chunked`);
    assert.equal(res.status, 502);
    assert.deepEqual(res.json(), { error: { code: 'PCL_ERR_FILTER_CONTENT_TOO_LARGE', message: refusedMessage(`the response body is larger than maxScanBytes (${MiB})`) } });
    assert.equal((await send(`${gw.url()}/plain`)).status, 200);
  });

  it('asks the backend for an uncompressed body, and refuses a compressed one', async () => {
    const res = await send(`${gw.url()}/pii/gzip`, { headers: { 'accept-encoding': 'gzip, br' } });
    assert.equal(acceptEncodings.at(-1), 'identity');
    assert.equal(res.status, 502);
    assert.deepEqual(res.json(), { error: { code: 'PCL_ERR_FILTER_CONTENT_TOO_LARGE', message: refusedMessage('the response is compressed (content-encoding gzip)') } });
  });

  it('refuses JSON nested too deep to walk instead of passing what it did not read', async () => {
    const res = await send(`${gw.url()}/pii/deep`);
    assert.equal(res.status, 502);
    assert.deepEqual(res.json(), { error: { code: 'PCL_ERR_FILTER_CONTENT_TOO_LARGE', message: refusedMessage('the response body is nested deeper than 64 levels') } });
  });

  it("oversized: 'pass' lets content over the cap through unchanged, and says so in the log", async () => {
    const res = await send(`${gw.url()}/pass/over`);
    assert.equal(res.status, 200);
    assert.ok(res.text.endsWith(PII));
    const line = await gw.logs.waitFor((l) => l.msg === 'piiRedaction: response passed unredacted (oversized: pass)');
    assert.equal(line.reason, `the response body (${MiB + 1 + PII.length} bytes) is larger than maxScanBytes (4096)`);
    assert.equal((await send(`${gw.url()}/pass/deep`)).status, 200);
  });

  it('rejects patterns that need backtracking and bad limits at load, with their paths', async () => {
    await assert.rejects(
      startTestGateway(
        simpleConfig([
          {
            policies: {
              piiRedaction: { custom: [{ name: 'twice', regex: '(\\w)\\1' }], maxScanBytes: -1, oversized: 'skip' as any },
              toolArgumentRules: { maxScanBytes: 1.5, rules: [{ tool: '*', deny: ['(?<!abc)x'], schema: { type: 'string', pattern: '(?=xx)y' } }] },
            },
            backends: [{ host: up.host }],
          },
        ]),
      ),
      (err: any) => {
        assert.equal(err.code, 'PCL_ERR_CONFIG_INVALID');
        const p = 'binds[0].listeners[0].routes[0].policies';
        for (const m of [
          `${p}.piiRedaction.custom[0].regex: regular expression "(\\\\w)\\\\1" cannot run in linear time: backreferences (\\1) are not supported`,
          `${p}.piiRedaction.maxScanBytes: must be >= 0, got -1`,
          `${p}.piiRedaction.oversized: expected "refuse" | "pass", got "skip"`,
          `${p}.toolArgumentRules.maxScanBytes: expected integer, got number`,
          `${p}.toolArgumentRules.rules[0].deny[0]: regular expression "(?<!abc)x" cannot run in linear time: a lookahead or lookbehind may only test one character, as in (?![0-9])`,
          `${p}.toolArgumentRules.rules[0].schema.pattern: regular expression "(?=xx)y" cannot run in linear time: a lookahead or lookbehind may only test one character, as in (?![0-9])`,
        ]) {
          assert.ok(err.message.includes(m), `missing: ${m}\nin: ${err.message}`);
        }
        return true;
      },
    );
    assert.equal((await send(`${gw.url()}/plain`)).status, 200);
  });
});

describe('ready-made filters: hostile inputs and content over the scan cap (MCP)', () => {
  let gw: TestGateway;
  const clients: Client[] = [];
  const mcp = everythingRoute;
  const connect = async (route: string) => {
    const c = await connectClient(`${gw.url()}/${route}/mcp`);
    clients.push(c);
    return c;
  };
  before(async () => {
    gw = await startTestGateway(
      simpleConfig(
        [
          mcp('pii', { piiRedaction: {} }),
          mcp('pii-small', { piiRedaction: { maxScanBytes: 2000 } }),
          mcp('pii-pass', { piiRedaction: { maxScanBytes: 2000, oversized: 'pass' } }),
          mcp('rules', { toolArgumentRules: { rules: [{ tool: '*', deny: ['(a+)+$', '^(\\w+\\s?)*;$', '[Dd][Rr][Oo][Pp] [Tt][Aa][Bb][Ll][Ee]'] }] } }),
          mcp('rules-small', { toolArgumentRules: { maxScanBytes: 2000, rules: [{ tool: 'echo', deny: ['DROP'] }] } }),
        ],
        { shutdown: { drainTimeoutMs: 2000 } },
      ),
    );
  });
  after(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await gw?.close();
  });

  it('redacts a 1 MiB hostile tool result in bounded time, and still finds real PII in it', async (t) => {
    const client = await connect('pii');
    const hostile = `${fill('a@', MiB - 1024)} jane.doe@example.com`;
    const started = performance.now();
    const out = text(await client.callTool({ name: 'echo', arguments: { message: hostile } }));
    t.diagnostic(`1 MiB hostile MCP result: ${Math.round(performance.now() - started)} ms`);
    assert.equal(out, `Echo: ${fill('a@', MiB - 1024)} [REDACTED:email]`);
  });

  it('refuses a tool result over maxScanBytes with a JSON-RPC error, and serves the next call', async () => {
    const client = await connect('pii-small');
    await assert.rejects(
      client.callTool({ name: 'echo', arguments: { message: 'x'.repeat(3000) } }),
      /PCL_ERR_FILTER_CONTENT_TOO_LARGE: piiRedaction: the result's text is larger than maxScanBytes \(2000 bytes\); refused rather than passed unredacted/,
    );
    assert.equal(text(await client.callTool({ name: 'echo', arguments: { message: 'mail a@b.io' } })), 'Echo: mail [REDACTED:email]');
  });

  it("passes a tool result over maxScanBytes unredacted with oversized: 'pass', and logs it", async () => {
    const client = await connect('pii-pass');
    const message = `${'x'.repeat(3000)} a@b.io`;
    assert.equal(text(await client.callTool({ name: 'echo', arguments: { message } })), `Echo: ${message}`);
    await gw.logs.waitFor((l) => l.msg === 'piiRedaction: MCP result passed unredacted (oversized: pass)');
  });

  it('checks 1 MiB hostile arguments against catastrophic deny patterns in bounded time', async (t) => {
    const client = await connect('rules');
    for (const argument of [fill('a', MiB - 64), `${fill('ab ', MiB - 64)}!`]) {
      const started = performance.now();
      const out = text(await client.callTool({ name: 'echo', arguments: { message: `${argument}!` } }));
      t.diagnostic(`1 MiB argument: ${Math.round(performance.now() - started)} ms`);
      assert.equal(out.length, 'Echo: '.length + argument.length + 1);
    }
    await assert.rejects(
      client.callTool({ name: 'echo', arguments: { message: `${fill('a', 512 * 1024)} drop TABLE x!` } }),
      /PCL_ERR_FILTER_DENIED: tool "echo": an argument matches deny pattern "\[Dd\]\[Rr\]\[Oo\]\[Pp\] \[Tt\]\[Aa\]\[Bb\]\[Ll\]\[Ee\]" \(rule "\*"\)/,
    );
  });

  it('refuses arguments over maxScanBytes unchecked, and serves the next call', async () => {
    const client = await connect('rules-small');
    await assert.rejects(
      client.callTool({ name: 'echo', arguments: { message: 'x'.repeat(3000) } }),
      /PCL_ERR_FILTER_CONTENT_TOO_LARGE: tool "echo": its arguments hold more than maxScanBytes \(2000\) bytes of text, so the call was refused unchecked \(rule "echo"\)/,
    );
    await assert.rejects(client.callTool({ name: 'echo', arguments: { message: 'DROP' } }), /PCL_ERR_FILTER_DENIED/);
    assert.equal(text(await client.callTool({ name: 'echo', arguments: { message: 'fine' } })), 'Echo: fine');
  });
});
