import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { GatewayConfig } from '../../sdk-types/index.ts';
import { echoUpstream, send, simpleConfig, startTestGateway, type TestGateway, type Upstream } from '../helpers/gateway.ts';
import { MCP_TEST_EXTRA, text } from '../helpers/mcp.ts';
import { startOtlpReceiver, type OtlpReceiver } from './otlp.ts';
import { parseExposition, sample, startJaeger, tag, type Jaeger, type JaegerSpan } from './tools.ts';

const META_ECHO = fileURLToPath(new URL('../fixtures/telemetry/meta-echo-server.ts', import.meta.url));
const REGO = fileURLToPath(new URL('../fixtures/telemetry/telemetry.rego', import.meta.url));
const KEY = 'telemetry-key-1';
const LANGFUSE = { publicKey: 'pk-lf-test', secretKey: 'sk-lf-test-secret' };

/** A client-side trace: the gateway's server spans must continue it. */
function clientTraceparent() {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  return { traceId, spanId, header: `00-${traceId}-${spanId}-01` };
}

const byName = (spans: JaegerSpan[], name: string) => spans.filter((s) => s.operationName === name);
const parentOf = (s: JaegerSpan) => s.references.find((r) => r.refType === 'CHILD_OF')?.spanID;

describe('traces in Jaeger v2, joined with metrics, the access log, the audit log and Langfuse', () => {
  let jaeger: Jaeger;
  let langfuse: OtlpReceiver;
  let up: Upstream;
  let gw: TestGateway;
  let statsUrl: string;
  let auditFile: string;
  const clients: Client[] = [];

  before(async () => {
    jaeger = await startJaeger();
    langfuse = await startOtlpReceiver({ auth: LANGFUSE });
    up = await echoUpstream('traced');
    process.env.PCL_TEST_LF_PUBLIC = LANGFUSE.publicKey;
    process.env.PCL_TEST_LF_SECRET = LANGFUSE.secretKey;
    const config: GatewayConfig = {
      ...simpleConfig([
        {
          name: 'mcp',
          matches: [{ path: { pathPrefix: '/mcp' } }],
          policies: {
            apiKey: { header: 'x-api-key', keys: [{ name: 'agent-7', sha256: createHash('sha256').update(KEY).digest('hex') }] },
            authorization: { rego: './telemetry.rego', entrypoint: 'telemetry/decision' },
          },
          backends: [{ mcp: { targets: [{ name: 'meta', stdio: { cmd: process.execPath, args: [META_ECHO, 'stdio'] } }] } }],
        },
        { name: 'api', matches: [{ path: { pathPrefix: '/api' } }], backends: [{ host: up.host }] },
      ]),
      ...MCP_TEST_EXTRA,
      stats: { address: '127.0.0.1:0' },
      tracing: { endpoint: jaeger.otlpUrl, scheduledDelayMs: 100, resourceAttributes: { 'deployment.environment.name': 'test' } },
      langfuse: { publicKey: { env: 'PCL_TEST_LF_PUBLIC' }, secretKey: { env: 'PCL_TEST_LF_SECRET' }, baseUrl: langfuse.url, flushIntervalMs: 100, captureContent: 'full' },
      audit: { destination: { file: './audit.log' } },
    };
    gw = await startTestGateway(config, { files: { 'telemetry.rego': await readFile(REGO, 'utf8') } });
    statsUrl = `http://127.0.0.1:${gw.running.telemetry.statsPort}/metrics`;
    auditFile = join(gw.dir, 'audit.log');
  });

  after(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await gw?.close();
    await up?.close();
    await langfuse?.close();
    await jaeger?.close();
    delete process.env.PCL_TEST_LF_PUBLIC;
    delete process.env.PCL_TEST_LF_SECRET;
  });

  async function connect(traceparent: string): Promise<Client> {
    const client = new Client({ name: 'telemetry-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${gw.url()}/mcp`), { requestInit: { headers: { 'x-api-key': KEY, traceparent } } }));
    clients.push(client);
    return client;
  }

  async function auditLines(): Promise<Array<Record<string, any>>> {
    const raw = await readFile(auditFile, 'utf8').catch(() => '');
    return raw.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  }

  it('a tool call on a stdio target: the span tree continues the client trace, and the target got traceparent in _meta', async () => {
    const parent = clientTraceparent();
    const client = await connect(parent.header);
    const seen = JSON.parse(text(await client.callTool({ name: 'echo_meta', arguments: { text: 'hello' } })));
    assert.equal(seen.tool, 'echo_meta');
    const forwarded = String(seen.meta?.traceparent);
    const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(forwarded);
    assert.ok(m, `the stdio target received traceparent in _meta: ${JSON.stringify(seen.meta)}`);
    assert.equal(m[1], parent.traceId, 'the forwarded context continues the client trace');

    const all = await jaeger.waitForSpan(parent.traceId, (s, spans) => s.operationName === 'tools/call echo_meta' && spans.some((p) => p.spanID === parentOf(s)));
    const message = byName(all, 'tools/call echo_meta')[0];
    assert.equal(message.spanID, m[2], 'the target got the message span as its parent');
    assert.equal(tag(message, 'mcp.method.name'), 'tools/call');
    assert.equal(tag(message, 'gen_ai.tool.name'), 'echo_meta');
    assert.equal(tag(message, 'gen_ai.operation.name'), 'execute_tool');
    assert.equal(tag(message, 'enduser.id'), 'agent-7');
    assert.equal(tag(message, 'portcullis.target'), 'meta');
    assert.match(String(tag(message, 'mcp.session.id')), /^[A-Za-z0-9_-]{60,}$/);
    assert.ok(tag(message, 'jsonrpc.request.id') !== undefined);
    const server = all.find((s) => s.spanID === parentOf(message))!;
    assert.equal(server.operationName, 'POST mcp');
    assert.equal(tag(server, 'span.kind'), 'server');
    assert.equal(parentOf(server), parent.spanId, 'the server span is a child of the client span');
    assert.equal(tag(server, 'http.request.method'), 'POST');
    assert.equal(tag(server, 'http.response.status_code'), 200);
    assert.equal(tag(server, 'enduser.id'), 'agent-7');
    assert.equal(tag(server, 'client.address'), '127.0.0.1');
    const policies = all.filter((s) => parentOf(s) === message.spanID).map((s) => s.operationName);
    assert.ok(policies.includes('policy authorization'), `policy spans under the message: ${policies}`);
    const httpPolicies = all.filter((s) => parentOf(s) === server.spanID).map((s) => s.operationName);
    assert.ok(httpPolicies.includes('policy apiKey'), `policy spans under the request: ${httpPolicies}`);
  });

  it('a denied tool call marks its span with the denial and its reason', async () => {
    const parent = clientTraceparent();
    const client = await connect(parent.header);
    await assert.rejects(client.callTool({ name: 'secret_tool', arguments: {} }), /Unknown tool: secret_tool/);
    const denied = byName(await jaeger.waitForSpan(parent.traceId, (s) => s.operationName === 'tools/call secret_tool'), 'tools/call secret_tool')[0];
    assert.equal(tag(denied, 'otel.status_code'), 'ERROR');
    assert.equal(tag(denied, 'otel.status_description'), 'denied by authorization: secret_tool is reserved for operators');
    assert.equal(tag(denied, 'portcullis.denied_by'), 'authorization');
  });

  it('an HTTP route: the upstream receives a traceparent whose parent is the attempt span', async () => {
    const parent = clientTraceparent();
    const res = await send(`${gw.url()}/api/items`, { headers: { traceparent: parent.header, tracestate: 'vendor=1', baggage: 'tenant=acme' } });
    assert.equal(res.status, 200);
    const got = res.json().headers;
    const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(got.traceparent);
    assert.ok(m, `upstream traceparent: ${got.traceparent}`);
    assert.equal(m[1], parent.traceId);
    assert.notEqual(m[2], parent.spanId, 'the client span id is replaced by the gateway attempt');
    assert.equal(got.tracestate, 'vendor=1');
    assert.equal(got.baggage, 'tenant=acme');
    const spans = await jaeger.waitForSpan(parent.traceId, (s, all) => s.spanID === m[2] && all.some((p) => p.spanID === parentOf(s)));
    const attempt = spans.find((s) => s.spanID === m[2]);
    assert.ok(attempt, 'the attempt span is in Jaeger');
    assert.equal(tag(attempt, 'span.kind'), 'client');
    assert.equal(tag(attempt, 'http.response.status_code'), 200);
    assert.equal(tag(attempt, 'url.full'), `http://${up.host}/api/items`);
    const server = spans.find((s) => s.spanID === parentOf(attempt))!;
    assert.equal(server.operationName, 'GET api');
    assert.equal(parentOf(server), parent.spanId);
  });

  it('one tool call joins across the metric, the access log, the audit log, Jaeger and Langfuse by trace id', async () => {
    const parent = clientTraceparent();
    const client = await connect(parent.header);
    await client.callTool({ name: 'echo_meta', arguments: { text: 'join me' } });
    // Access log: the line of the tools/call request.
    const access = await gw.logs.waitFor((l) => l.type === 'access' && l.trace_id === parent.traceId && l['gen_ai.tool.name'] === 'echo_meta');
    assert.equal(access['mcp.method.name'], 'tools/call');
    assert.equal(access['enduser.id'], 'agent-7');
    assert.match(access.span_id, /^[0-9a-f]{16}$/);
    // Audit log: the authorization decision on that message, with the same trace and request.
    const end = Date.now() + 5000;
    let audit: Record<string, any> | undefined;
    while (!audit && Date.now() < end) {
      audit = (await auditLines()).find((l) => l.trace_id === parent.traceId && l.policy === 'authorization' && l['gen_ai.tool.name'] === 'echo_meta');
      if (!audit) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(audit, 'an audit line for the decision');
    assert.equal(audit.request_id, access.request_id);
    assert.equal(audit.span_id, access.span_id);
    assert.deepEqual(
      { type: audit.type, decision: audit.decision, level: audit.level, method: audit['mcp.method.name'], who: audit['enduser.id'], route: audit.route, target: audit.target, phase: audit.phase },
      { type: 'audit', decision: 'allow', level: 'message', method: 'tools/call', who: 'agent-7', route: 'mcp', target: 'meta', phase: 'authorization' },
    );
    // Jaeger: the server span of that request is the access line's span.
    await jaeger.waitForSpan(parent.traceId, (s) => s.spanID === access.span_id && s.operationName === 'POST mcp');
    // Langfuse: the trace and its tool observation, with input and output (captureContent: full).
    await langfuse.waitFor((all) => all.some((s) => s.traceId === parent.traceId && s.name === 'tools/call echo_meta'));
    const obs = langfuse.spans.find((s) => s.traceId === parent.traceId && s.name === 'tools/call echo_meta')!;
    assert.equal(obs.attributes['langfuse.observation.type'], 'tool');
    assert.equal(obs.attributes['langfuse.observation.input'], JSON.stringify({ text: 'join me' }));
    assert.match(String(obs.attributes['langfuse.observation.output']), /join me/, JSON.stringify(obs.attributes));
    await langfuse.waitFor((all) => all.some((s) => s.traceId === parent.traceId && s.spanId === access.span_id));
    const root = langfuse.spans.find((s) => s.spanId === access.span_id)!;
    assert.equal(root.attributes['user.id'], 'agent-7');
    assert.equal(root.attributes['session.id'], obs.attributes['mcp.session.id']);
    assert.equal(root.attributes['langfuse.trace.name'], 'POST mcp');
    assert.deepEqual(root.attributes['langfuse.trace.tags'], ['tool:echo_meta', 'target:meta', 'route:mcp']);
    assert.equal(root.resource['service.name'], 'portcullis');
    assert.equal(root.resource['deployment.environment.name'], 'test');
    assert.ok(langfuse.requests.every((r) => r.headers['x-langfuse-public-key'] === LANGFUSE.publicKey));
    assert.deepEqual(langfuse.refused, []);
    // The metric, parsed by Prometheus' own parser.
    const res = await fetch(statsUrl);
    const parsed = parseExposition(await res.text(), res.headers.get('content-type')!);
    assert.ok((sample(parsed, 'portcullis_mcp_messages_total', { route: 'mcp', method: 'tools/call', tool: 'echo_meta', target: 'meta', outcome: 'ok' }) ?? 0) >= 2);
    assert.equal(sample(parsed, 'portcullis_mcp_messages_total', { tool: 'secret_tool', outcome: 'denied' }), 1);
    assert.ok((sample(parsed, 'portcullis_telemetry_spans_total', { exporter: 'otlp', outcome: 'exported' }) ?? 0) > 0);
    assert.ok((sample(parsed, 'portcullis_telemetry_spans_total', { exporter: 'langfuse', outcome: 'exported' }) ?? 0) > 0);
  });
});
