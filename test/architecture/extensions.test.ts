import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createGateway } from '../../core/gateway/index.ts';
import { registerTelemetrySink } from '../../core/telemetry/sinks.ts';
import { createLogger, protocolTelemetry, registerProtocolTelemetry } from '../../core/telemetry/index.ts';
import { messageProtocol, registerMessageProtocol } from '../../core/pipeline/index.ts';
import { requestChannel, type RequestEvent } from '../../core/telemetry/events.ts';
import type { GatewayConfig } from '../../sdk-types/index.ts';
import { startUpstream, type Upstream } from '../helpers/gateway.ts';
import { relayBackend } from '../fixtures/toy-backend/index.ts';
import { parrotBackend, toyWireProtocol, toyWireTelemetry } from '../fixtures/toy-protocol/index.ts';
import { tallySink } from '../fixtures/toy-sink/index.ts';
import { startOtlpReceiver, type OtlpReceiver } from '../telemetry/otlp.ts';
import { parseExposition, sample } from '../telemetry/tools.ts';
import { ROOT } from './import-graph.ts';

const quiet = { admin: { address: false }, readiness: { address: false }, stats: { address: false }, logging: { level: 'silent' } } as const;

/** The checklist of one extension kind in docs/architecture.md: its numbered steps and its "files" block. */
function checklist(kind: string): { steps: string[]; files: string[] } {
  const doc = readFileSync(join(ROOT, 'docs/architecture.md'), 'utf8');
  const start = doc.indexOf(`<!-- checklist:${kind} -->`);
  assert.ok(start >= 0, `docs/architecture.md has no checklist for ${kind}`);
  const block = doc.slice(start, doc.indexOf('<!-- /checklist -->', start));
  const steps = [...block.matchAll(/^\d+\. (.+)$/gm)].map((m) => m[1]!);
  const files = [...block.matchAll(/^- files: (.+)$/gm)].flatMap((m) => m[1]!.split(',').map((f) => f.trim().replace(/`/g, '')));
  return { steps, files };
}

/** Files of the product (core, policies, sdk-types) that name a word: a plugged-in kind or sink must need none. */
function productFilesNaming(word: string): string[] {
  try {
    return execFileSync('git', ['grep', '-l', '-w', word, '--', 'core', 'policies', 'sdk-types'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);
  } catch {
    return []; // git grep exits 1 when nothing matches
  }
}

describe('extension seams: a toy backend kind and a toy telemetry sink, one folder and one registration each', () => {
  let upstream: Upstream;
  let dir: string;
  let calls = 0;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pcl-ext-'));
    // The first call gets a 503: the retry policy (which requires `http-upstream`) acts on the toy kind.
    upstream = await startUpstream((req, res) => {
      calls++;
      if (calls === 1) {
        res.writeHead(503).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`upstream saw ${req.method} ${req.url}`);
    });
  });
  after(async () => {
    await upstream?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const config = (file: string, policies: Record<string, unknown> = { retry: { attempts: 2, backoffMs: 1, codes: [503] } }) =>
    ({
      ...quiet,
      sinks: { tally: { file, label: 'edge' } },
      binds: [{ port: 0, address: '127.0.0.1', listeners: [{ routes: [{ name: 'toy', policies, backends: [{ toyRelay: { origin: `http://${upstream.host}`, tag: 't1' } }] }] }] }],
    }) as unknown as GatewayConfig;

  it('serves traffic through the plugged-in kind, with a capability-gated policy on it, and the plugged-in sink writes its events', async () => {
    const file = join(dir, 'tally.jsonl');
    const gateway = await createGateway(config(file), { backends: [relayBackend], sinks: [tallySink] });
    try {
      // Subscribed after the sink: when this fires, the sink has written its line.
      const ended = new Promise<RequestEvent>((resolve) => {
        const onEnd = (e: unknown) => {
          requestChannel.end.unsubscribe(onEnd);
          resolve(e as RequestEvent);
        };
        requestChannel.end.subscribe(onEnd);
      });
      const res = await gateway.handle(new Request('http://localhost/hello?x=1'));
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-relay-tag'), 't1');
      assert.equal(await res.text(), 'upstream saw GET /hello?x=1');
      assert.equal(calls, 2, 'one 503, then the retried call');
      assert.equal((await ended).route, 'toy');
      assert.deepEqual((await readFile(file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l)), [{ label: 'edge', route: 'toy', path: '/hello', status: 200 }]);
    } finally {
      await gateway.close();
    }
  });

  it('restarts a plugged-in sink when its config changes on reload, and stops it when its key goes', async () => {
    const [a, b] = [join(dir, 'a.jsonl'), join(dir, 'b.jsonl')];
    const direct = (sinks: Record<string, unknown>) =>
      ({ ...quiet, sinks, binds: [{ port: 0, address: '127.0.0.1', listeners: [{ routes: [{ name: 'd', policies: { directResponse: { status: 204 } } }] }] }] }) as unknown as GatewayConfig;
    const gateway = await createGateway(direct({ tally: { file: a } }), { sinks: [tallySink] });
    const hit = async () => {
      const done = new Promise<void>((resolve) => {
        const onEnd = () => {
          requestChannel.end.unsubscribe(onEnd);
          resolve();
        };
        requestChannel.end.subscribe(onEnd);
      });
      await (await gateway.handle(new Request('http://localhost/'))).arrayBuffer();
      await done;
    };
    const lines = async (file: string) => (await readFile(file, 'utf8').catch(() => '')).trim().split('\n').filter(Boolean).length;
    try {
      await hit();
      assert.deepEqual(await gateway.reload(direct({ tally: { file: b } })), { ok: true });
      await hit();
      assert.deepEqual(await gateway.reload(direct({})), { ok: true });
      await hit();
      assert.deepEqual([await lines(a), await lines(b)], [1, 1]);
    } finally {
      await gateway.close();
    }
  });

  it('validates the plugged-in config like a built-in one: paths in errors, capabilities named', async () => {
    const file = join(dir, 'unused.jsonl');
    const bad = config(file, { toolPinning: {} }) as unknown as { sinks: Record<string, unknown>; binds: Array<{ listeners: Array<{ routes: Array<{ backends: unknown[] }> }> }> };
    bad.binds[0]!.listeners[0]!.routes[0]!.backends = [{ toyRelay: { origin: 'ftp://x' } }];
    bad.sinks = { tally: { label: 'no file' } };
    await assert.rejects(createGateway(bad as unknown as GatewayConfig, { backends: [relayBackend], sinks: [tallySink] }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'PCL_ERR_CONFIG_INVALID');
      assert.equal(
        err.message,
        [
          'invalid configuration in the config object:',
          'binds[0].listeners[0].routes[0].backends[0].toyRelay.origin: expected an origin like http://host:port, got "ftp://x"',
          'binds[0].listeners[0].routes[0].policies.toolPinning: the toolPinning policy cannot act on toyRelay backends (it acts on MCP backends)',
          'sinks.tally.file: is required (string)',
        ].join('\n'),
      );
      return true;
    });
  });

  it('refuses a second kind or sink under a taken name with PCL_ERR_EXTENSION_CONFLICT; a kind is its gateway\'s only, a sink is removed when the gateway closes', async () => {
    await assert.rejects(createGateway(config(join(dir, 'w.jsonl')), { backends: [{ ...relayBackend, kind: 'mcp' }] }), {
      code: 'PCL_ERR_EXTENSION_CONFLICT',
      message: 'backend kind "mcp" is already registered: pick another key for the plugged-in kind',
    });
    const gateway = await createGateway(config(join(dir, 'x.jsonl')), { backends: [relayBackend], sinks: [tallySink] });
    assert.throws(() => registerTelemetrySink(tallySink), { code: 'PCL_ERR_EXTENSION_CONFLICT' });
    await gateway.close();
    await assert.rejects(createGateway(config(join(dir, 'y.jsonl'))), (err: Error) => {
      assert.match(err.message, /backends\[0\]\.toyRelay: unknown key/);
      assert.match(err.message, /sinks\.tally: unknown key/);
      return true;
    });
  });

  it('looks message protocols up by name: a kind speaking an unregistered one fails to build, a taken name is refused', async () => {
    assert.throws(() => registerMessageProtocol({ name: 'mcp', stepOf: () => undefined }), { code: 'PCL_ERR_EXTENSION_CONFLICT', message: 'message protocol "mcp" is already registered' });
    const chatty = { ...relayBackend, kind: 'toyChatty', protocol: 'toyWire', capabilities: ['message-protocol'] };
    await assert.rejects(
      createGateway(
        { ...quiet, binds: [{ port: 0, address: '127.0.0.1', listeners: [{ routes: [{ name: 'c', backends: [{ toyChatty: { origin: `http://${upstream.host}` } }] }] }] }] } as unknown as GatewayConfig,
        { backends: [chatty] },
      ),
      { code: 'PCL_ERR_BACKEND_UNSUPPORTED', message: 'binds[0].listeners[0].routes[0].backends: the backend speaks message protocol "toyWire", which is not registered (registerMessageProtocol)' },
    );
    const unregister = registerMessageProtocol({ name: 'toyWire', stepOf: () => undefined });
    try {
      const gateway = await createGateway(
        { ...quiet, binds: [{ port: 0, address: '127.0.0.1', listeners: [{ routes: [{ name: 'c', backends: [{ toyChatty: { origin: `http://${upstream.host}` } }] }] }] }] } as unknown as GatewayConfig,
        { backends: [chatty] },
      );
      await gateway.close();
    } finally {
      unregister();
    }
    assert.equal(messageProtocol('toyWire'), undefined);
  });

  it('matches the checklists of docs/architecture.md: each toy is the files its checklist lists, and the product names none of them', async () => {
    for (const [kind, folder, word] of [
      ['backend-kind', 'test/fixtures/toy-backend', 'toyRelay'],
      ['telemetry-sink', 'test/fixtures/toy-sink', 'tally'],
      ['protocol', 'test/fixtures/toy-protocol', 'toyWire'],
      ['mcp-target-kind', 'test/fixtures/toy-target', 'toyAbacus'],
    ] as const) {
      const { steps, files } = checklist(kind);
      assert.ok(steps.length >= 2, `${kind}: the checklist has its steps`);
      const written = (await readdir(join(ROOT, folder))).map((f) => `<folder>/${f}`).sort();
      assert.deepEqual(written, files.filter((f) => f.startsWith('<folder>/')).sort(), `${kind}: the toy's folder holds what the checklist lists`);
      assert.deepEqual(productFilesNaming(word), [], `${kind}: no product file had to name the toy`);
    }
    for (const kind of ['policy']) assert.ok(checklist(kind).steps.length >= 2, `${kind}: the checklist has its steps`);
  });
});

describe('extension seams: a toy message protocol with its telemetry, one folder and one registration', () => {
  let receiver: OtlpReceiver;
  before(async () => {
    receiver = await startOtlpReceiver();
  });
  after(async () => {
    await receiver?.close();
  });

  it("gives the protocol's messages its descriptor's span attributes, series and access-log fields; without it, the generic ones", async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', destination: { write: (l: string) => void lines.push(l) } });
    const config = {
      admin: { address: false },
      readiness: { address: false },
      stats: { address: '127.0.0.1:0' },
      tracing: { endpoint: `${receiver.url}/v1/traces`, scheduledDelayMs: 50 },
      binds: [{ port: 0, address: '127.0.0.1', listeners: [{ routes: [{ name: 'parrot', backends: [{ toyParrot: { name: 'polly' } }] }] }] }],
    } as unknown as GatewayConfig;
    const say = async (gateway: Awaited<ReturnType<typeof createGateway>>, query: string) => {
      const ended = new Promise<void>((resolve) => {
        const onEnd = () => {
          requestChannel.end.unsubscribe(onEnd);
          resolve();
        };
        requestChannel.end.subscribe(onEnd);
      });
      // Over a socket: a request handled in process (`handle`) belongs to no gateway's traces or access log.
      const { ports } = await gateway.listen();
      const res = await fetch(`http://127.0.0.1:${ports[0]}/${query}`, { headers: { 'x-toywire-conversation': 'c-1' } });
      const body = await res.json();
      await ended;
      return body;
    };
    const accessLines = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.type === 'access');

    const unregister = registerMessageProtocol(toyWireProtocol);
    try {
      const gateway = await createGateway(config, { backends: [parrotBackend], logger });
      try {
        assert.deepEqual(await say(gateway, '?method=say&topic=weather'), { said: 'polly: say weather' });
        await receiver.waitFor((spans) => spans.some((s) => s.name === 'say weather'));
        const span = receiver.spans.find((s) => s.name === 'say weather')!;
        assert.equal(span.attributes['portcullis.protocol'], 'toyWire');
        assert.equal(span.attributes['toywire.method'], 'say');
        assert.equal(span.attributes['toywire.topic'], 'weather');
        assert.equal(span.attributes['toywire.conversation'], 'c-1');
        assert.equal(span.attributes['rpc.method'], undefined, 'the descriptor replaces the generic start attributes');
        const server = receiver.spans.find((s) => s.spanId === span.parentSpanId)!;
        assert.equal(server.attributes['toywire.conversation'], 'c-1', "the request span carries the session the descriptor's header names");

        const parsed = parseExposition(await gateway.telemetry.registry!.metrics(), 'text/plain; version=0.0.4');
        assert.equal(sample(parsed, 'toywire_messages_total', { route: 'parrot', method: 'say', topic: 'weather', outcome: 'ok' }), 1);
        assert.equal(sample(parsed, 'toywire_message_duration_seconds_count', { route: 'parrot', method: 'say', topic: 'weather', outcome: 'ok' }), 1);
        assert.equal(parsed.samples.filter((s) => s.name === 'portcullis_messages_total').length, 0);

        const [line] = accessLines();
        assert.equal(line?.['toywire.method'], 'say');
        assert.equal(line?.['toywire.topic'], 'weather');
        assert.equal(line?.['mcp.method.name'], undefined);
      } finally {
        await gateway.close();
      }
    } finally {
      unregister();
    }
    assert.equal(protocolTelemetry('toyWire'), undefined, 'the descriptor goes with its protocol');

    // The same protocol without a descriptor: the generic span attributes, series and log fields.
    const bare = registerMessageProtocol({ ...toyWireProtocol, telemetry: undefined });
    lines.length = 0;
    try {
      const gateway = await createGateway(config, { backends: [parrotBackend], logger });
      try {
        await say(gateway, '?method=ask&topic=tides');
        await receiver.waitFor((spans) => spans.some((s) => s.name === 'ask tides'));
        const span = receiver.spans.find((s) => s.name === 'ask tides')!;
        assert.equal(span.attributes['rpc.method'], 'ask');
        assert.equal(span.attributes['portcullis.session_id'], 'c-1');
        assert.equal(span.attributes['toywire.method'], undefined);
        const parsed = parseExposition(await gateway.telemetry.registry!.metrics(), 'text/plain; version=0.0.4');
        assert.equal(sample(parsed, 'portcullis_messages_total', { protocol: 'toyWire', route: 'parrot', method: 'ask', outcome: 'ok' }), 1);
        const [line] = accessLines();
        assert.equal(line?.['gen_ai.tool.name'], 'tides');
        assert.equal(line?.['toywire.method'], undefined);

        // A descriptor added after the start whose series name is taken: its series are made on the next message,
        // where a throw would reach the publisher. The message is served, counted generically, and the log says why.
        const late = registerProtocolTelemetry({ ...toyWireTelemetry, metrics: { ...toyWireTelemetry.metrics!, counter: { name: 'portcullis_requests_total', help: 'taken' }, histogram: undefined } });
        try {
          assert.deepEqual(await say(gateway, '?method=say&topic=clash'), { said: 'polly: say clash' });
          const after = parseExposition(await gateway.telemetry.registry!.metrics(), 'text/plain; version=0.0.4');
          assert.equal(sample(after, 'portcullis_messages_total', { protocol: 'toyWire', route: 'parrot', method: 'say', outcome: 'ok' }), 1);
          assert.ok(lines.some((l) => l.includes('message protocol series not created')), 'the log names the skipped series');
          assert.deepEqual(await say(gateway, '?method=say&topic=again'), { said: 'polly: say again' });
        } finally {
          late();
        }
      } finally {
        await gateway.close();
      }
    } finally {
      bare();
    }
  });
});
