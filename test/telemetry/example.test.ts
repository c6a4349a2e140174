import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { RunningGateway } from '../../core/server/index.ts';
import { startExample } from '../helpers/examples.ts';
import type { LogCapture } from '../helpers/gateway.ts';
import { text } from '../helpers/mcp.ts';
import { startOtlpReceiver, type OtlpReceiver } from './otlp.ts';
import { parseExposition, sample, startJaeger, tag, type Jaeger } from './tools.ts';

const KEYS = { publicKey: 'pk-lf-example', secretKey: 'sk-lf-example' };

describe('examples/telemetry/: one tool call as a metric, a Jaeger trace, a Langfuse trace, an access line and an audit line', () => {
  let jaeger: Jaeger;
  let langfuse: OtlpReceiver;
  let running: RunningGateway;
  let logs: LogCapture;
  let url: string;
  let dir: string;
  let client: Client;
  const env = ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'LANGFUSE_PUBLIC_KEY', 'LANGFUSE_SECRET_KEY', 'LANGFUSE_BASE_URL', 'AUDIT_FILE'];

  before(async () => {
    jaeger = await startJaeger();
    langfuse = await startOtlpReceiver({ auth: KEYS });
    dir = await mkdtemp(join(tmpdir(), 'pcl-example-telemetry-'));
    // What a deployment sets in the environment (see the example's README).
    process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT = jaeger.otlpUrl;
    process.env.LANGFUSE_PUBLIC_KEY = KEYS.publicKey;
    process.env.LANGFUSE_SECRET_KEY = KEYS.secretKey;
    process.env.LANGFUSE_BASE_URL = langfuse.url;
    process.env.AUDIT_FILE = join(dir, 'audit.log');
    const started = await startExample('telemetry', { stats: '127.0.0.1:0' });
    running = started.running;
    logs = started.logs;
    url = started.url();
    client = new Client({ name: 'example-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers: { 'x-api-key': 'demo-key' } } }));
  });
  after(async () => {
    await client?.close();
    await running?.close();
    await langfuse?.close();
    await jaeger?.close();
    for (const name of env) delete process.env[name];
    await rm(dir, { recursive: true, force: true });
  });

  it('joins all five by trace id', async () => {
    assert.equal(text(await client.callTool({ name: 'echo', arguments: { message: 'observed' } })), 'Echo: observed');
    const access = await logs.waitFor((l) => l.type === 'access' && l['gen_ai.tool.name'] === 'echo');
    assert.equal(access['enduser.id'], 'demo-agent');
    const traceId = access.trace_id as string;
    assert.match(traceId, /^[0-9a-f]{32}$/);
    const end = Date.now() + 5000;
    let audit: Record<string, any> | undefined;
    while (!audit && Date.now() < end) {
      const raw = await readFile(process.env.AUDIT_FILE!, 'utf8').catch(() => '');
      audit = raw.split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((l) => l.trace_id === traceId);
      if (!audit) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(audit, 'the apiKey decision of that request is in the audit log');
    assert.deepEqual([audit.policy, audit.decision, audit['enduser.id'], audit.request_id], ['apiKey', 'allow', 'demo-agent', access.request_id]);
    const spans = await jaeger.waitForSpan(traceId, (s) => s.operationName === 'tools/call echo');
    const call = spans.find((s) => s.operationName === 'tools/call echo')!;
    assert.equal(tag(call, 'gen_ai.tool.name'), 'echo');
    assert.ok(spans.some((s) => s.spanID === access.span_id && s.operationName === 'POST mcp'));
    await langfuse.waitFor((all) => all.some((s) => s.traceId === traceId && s.name === 'tools/call echo'));
    const obs = langfuse.spans.find((s) => s.traceId === traceId && s.name === 'tools/call echo')!;
    assert.equal(obs.attributes['langfuse.observation.input'], JSON.stringify({ message: 'observed' }));
    assert.equal(obs.resource['deployment.environment.name'], 'example');
    const res = await fetch(`http://127.0.0.1:${running.telemetry.statsPort}/metrics`);
    const parsed = parseExposition(await res.text(), res.headers.get('content-type')!);
    assert.equal(sample(parsed, 'portcullis_mcp_messages_total', { route: 'mcp', method: 'tools/call', tool: 'echo', target: 'everything', outcome: 'ok' }), 1);
    assert.equal(sample(parsed, 'portcullis_mcp_processes_running', { route: 'mcp', target: 'everything' }) !== undefined, true);
    assert.ok((sample(parsed, 'portcullis_sessions_open', { protocol: 'mcp', route: 'mcp' }) ?? 0) >= 1);
  });
});
