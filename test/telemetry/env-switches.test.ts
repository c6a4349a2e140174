import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { telemetryEnvIssues } from '../../core/telemetry/config.ts';
import { resolveConfig } from '../../core/config/resolve.ts';
import type { GatewayConfig } from '../../sdk-types/index.ts';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, startReplica, type Replica } from '../helpers/replica.ts';
import { startOtlpReceiver, type OtlpReceiver } from './otlp.ts';
import { startJaeger, tag, type Jaeger } from './tools.ts';
import { builtinBackends } from '../../core/gateway/backends.ts';

/**
 * The standard environment switches of the trace sinks, on real gateway processes started by the CLI with the
 * variables set (as a Helm chart's `env:` sets them): OTEL_* turns tracing on when the config has no block,
 * OTEL_SDK_DISABLED / OTEL_TRACES_EXPORTER=none keep it off, LANGFUSE_* turns Langfuse on, a config block always
 * wins, and the start-up log says which sink is on and why. Traces land in a real Jaeger (OTLP over HTTP and gRPC)
 * and in a receiver of Langfuse's OTLP endpoint.
 */

const LF = { publicKey: 'pk-lf-env', secretKey: 'sk-lf-env-secret-4f1c' };

const config = (extra: Record<string, unknown> = {}) => ({
  admin: { address: false },
  readiness: { address: false },
  stats: { address: false },
  shutdown: { drainTimeoutMs: 200 },
  binds: [{ port: 0, address: '127.0.0.1', listeners: [{ routes: [{ name: 'r', policies: { directResponse: { status: 200, body: 'ok' } } }] }] }],
  ...extra,
});

/** The variables of this test process that would leak into a child and change what it decides. */
const CLEAN: Record<string, string> = Object.fromEntries(
  Object.keys(process.env)
    .filter((k) => k.startsWith('OTEL_') || k.startsWith('LANGFUSE_'))
    .map((k) => [k, '']),
);

const running: Replica[] = [];

async function start(env: Record<string, string>, extra: Record<string, unknown> = {}): Promise<{ gw: Replica; url: string }> {
  const gw = await startReplica(config(extra), { ...CLEAN, ...env }, (l) => l.msg === 'listening');
  running.push(gw);
  const port = gw.lines().find((l) => l.msg === 'listening')!.port as number;
  return { gw, url: `http://127.0.0.1:${port}` };
}

const sink = (gw: Replica, name: 'tracing' | 'langfuse') => gw.waitFor((l) => l.sink === name, 20_000, `the ${name} decision line`);

/** A request carrying a sampled W3C traceparent: its trace id is what Jaeger is asked for. */
async function tracedRequest(url: string): Promise<string> {
  const traceId = randomBytes(16).toString('hex');
  const res = await fetch(`${url}/hello`, { headers: { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` } });
  assert.equal(res.status, 200);
  await res.text();
  return traceId;
}

describe('environment switches of tracing and Langfuse, on gateway processes', () => {
  let jaeger: Jaeger;
  let langfuse: OtlpReceiver;

  before(async () => {
    [jaeger, langfuse] = await Promise.all([startJaeger(), startOtlpReceiver({ auth: LF })]);
  });

  after(async () => {
    await Promise.allSettled(running.map((r) => r.cleanup()));
    await Promise.allSettled([jaeger?.close(), langfuse?.close()]);
  });

  it('nothing set: both sinks off, and the log says why', async () => {
    const { gw } = await start({});
    const tracing = await sink(gw, 'tracing');
    assert.deepEqual([tracing.on, tracing.from, tracing.msg], [false, 'none', 'tracing off (no tracing block in the config, no OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT in the environment)']);
    const lf = await sink(gw, 'langfuse');
    assert.deepEqual([lf.on, lf.msg, lf.level], [false, 'langfuse off (no langfuse block in the config, no LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY in the environment)', 'info']);
    assert.equal(gw.lines().some((l) => l.msg === 'trace export on'), false);
  });

  it('OTEL_EXPORTER_OTLP_ENDPOINT alone turns tracing on over OTLP/HTTP (the signal path added), with OTEL_SERVICE_NAME', async () => {
    const base = jaeger.otlpUrl.replace(/\/v1\/traces$/, '');
    const { gw, url } = await start({ OTEL_EXPORTER_OTLP_ENDPOINT: base, OTEL_SERVICE_NAME: 'env-switched' });
    const line = await sink(gw, 'tracing');
    assert.deepEqual([line.on, line.from, line.protocol, line.endpoint, line.msg], [true, 'OTEL_EXPORTER_OTLP_ENDPOINT', 'http/protobuf', jaeger.otlpUrl, 'tracing on (from OTEL_EXPORTER_OTLP_ENDPOINT, http/protobuf)']);
    const traceId = await tracedRequest(url);
    const spans = await jaeger.waitForTrace(traceId, 1);
    assert.equal(tag(spans[0], 'http.request.method'), 'GET');
    const services = (await (await fetch(`${jaeger.queryUrl}/api/services`)).json()) as { data: string[] };
    assert.ok(services.data.includes('env-switched'), `services: ${services.data.join(', ')}`);
  });

  it('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT with OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=grpc exports over gRPC to Jaeger', async () => {
    const { gw, url } = await start({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: jaeger.otlpGrpcUrl, OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_HEADERS: 'x-tenant=blue' });
    const line = await sink(gw, 'tracing');
    assert.deepEqual([line.protocol, line.endpoint, line.msg], ['grpc', jaeger.otlpGrpcUrl, 'tracing on (from OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, grpc)']);
    const traceId = await tracedRequest(url);
    const spans = await jaeger.waitForTrace(traceId, 1);
    assert.equal(spans[0].traceID, traceId);
  });

  it('OTEL_EXPORTER_OTLP_HEADERS go with every export (URL-decoded), OTEL_EXPORTER_OTLP_PROTOCOL=http/json picks JSON bodies', async () => {
    const receiver = await startOtlpReceiver();
    try {
      const { gw, url } = await start({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_HEADERS: 'x-tenant=blue%20team,x-key=k1' });
      assert.equal((await sink(gw, 'tracing')).endpoint, `${receiver.url}/v1/traces`);
      const traceId = await tracedRequest(url);
      await receiver.waitFor((spans) => spans.some((s) => s.traceId === traceId), 15_000);
      assert.deepEqual([receiver.requests[0].headers['x-tenant'], receiver.requests[0].headers['x-key']], ['blue team', 'k1']);
      // The receiver reads protobuf only: a JSON exporter is refused with 415, which shows the protocol switched.
      const json = await start({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' });
      assert.equal((await sink(json.gw, 'tracing')).protocol, 'http/json');
      await tracedRequest(json.url);
      await receiver.waitFor(() => receiver.refused.some((r) => r.status === 415), 15_000);
    } finally {
      await receiver.close();
    }
  });

  it('OTEL_SDK_DISABLED=true and OTEL_TRACES_EXPORTER=none keep the environment\'s tracing off', async () => {
    const [a, b] = await Promise.all([
      start({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', OTEL_SDK_DISABLED: 'true' }),
      start({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', OTEL_TRACES_EXPORTER: 'none' }),
    ]);
    const la = await sink(a.gw, 'tracing');
    const lb = await sink(b.gw, 'tracing');
    assert.deepEqual([la.on, la.from, la.msg], [false, 'OTEL_SDK_DISABLED', 'tracing off (OTEL_SDK_DISABLED=true, although OTEL_EXPORTER_OTLP_ENDPOINT is set)']);
    assert.deepEqual([lb.on, lb.from, lb.msg], [false, 'OTEL_TRACES_EXPORTER', 'tracing off (OTEL_TRACES_EXPORTER=none, although OTEL_EXPORTER_OTLP_ENDPOINT is set)']);
    // Off means not loaded at all: no exporter, no 'trace export on'.
    await tracedRequest(a.url);
    assert.equal([...a.gw.lines(), ...b.gw.lines()].some((l) => l.msg === 'trace export on'), false);
  });

  it("a config block wins: its endpoint over the environment's, and OTEL_SDK_DISABLED does not turn it off", async () => {
    const { gw, url } = await start(
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_SDK_DISABLED: 'true' },
      { tracing: { endpoint: jaeger.otlpUrl, protocol: 'http/protobuf', scheduledDelayMs: 100 } },
    );
    const line = await sink(gw, 'tracing');
    assert.deepEqual([line.on, line.from, line.endpoint, line.msg], [true, 'config', jaeger.otlpUrl, "tracing on (from the config's tracing block, http/protobuf; OTEL_SDK_DISABLED=true ignored: the config's tracing block wins)"]);
    const traceId = await tracedRequest(url);
    await jaeger.waitForTrace(traceId, 1);
  });

  it('LANGFUSE_PUBLIC_KEY + LANGFUSE_SECRET_KEY + LANGFUSE_BASE_URL turn Langfuse on; the keys never reach the log', async () => {
    const { gw, url } = await start({ LANGFUSE_PUBLIC_KEY: LF.publicKey, LANGFUSE_SECRET_KEY: LF.secretKey, LANGFUSE_BASE_URL: langfuse.url, LANGFUSE_TRACING_ENVIRONMENT: 'staging' });
    const line = await sink(gw, 'langfuse');
    assert.deepEqual([line.on, line.from, line.baseUrl, line.msg], [true, 'LANGFUSE_PUBLIC_KEY', langfuse.url, 'langfuse on (from LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY, LANGFUSE_BASE_URL)']);
    assert.equal((await sink(gw, 'tracing')).on, false);
    const traceId = await tracedRequest(url);
    await langfuse.waitFor((spans) => spans.some((s) => s.traceId === traceId), 15_000);
    const span = langfuse.spans.find((s) => s.traceId === traceId)!;
    assert.equal(span.resource['service.name'], 'portcullis');
    assert.equal(span.attributes['langfuse.environment'], 'staging');
    assert.equal(langfuse.refused.length, 0);
    assert.equal(gw.output().includes(LF.secretKey), false);
  });

  it('LANGFUSE_HOST is read as the base URL too; half a key pair leaves Langfuse off with a warning', async () => {
    const [host, half] = await Promise.all([
      start({ LANGFUSE_PUBLIC_KEY: LF.publicKey, LANGFUSE_SECRET_KEY: LF.secretKey, LANGFUSE_HOST: `${langfuse.url}/` }),
      start({ LANGFUSE_PUBLIC_KEY: LF.publicKey }),
    ]);
    const on = await sink(host.gw, 'langfuse');
    assert.deepEqual([on.on, on.baseUrl, on.msg], [true, langfuse.url, 'langfuse on (from LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY, LANGFUSE_HOST)']);
    const traceId = await tracedRequest(host.url);
    await langfuse.waitFor((spans) => spans.some((s) => s.traceId === traceId), 15_000);
    const off = await sink(half.gw, 'langfuse');
    assert.deepEqual([off.on, off.level, off.msg], [false, 'warn', 'langfuse off (LANGFUSE_PUBLIC_KEY is set but LANGFUSE_SECRET_KEY is not)']);
  });

  it('a malformed variable refuses the start with PCL_ERR_CONFIG_INVALID and the variable\'s name', async () => {
    await assert.rejects(start({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318', OTEL_EXPORTER_OTLP_PROTOCOL: 'thrift' }), (err: Error) => {
      assert.match(err.message, /PCL_ERR_CONFIG_INVALID/);
      assert.match(err.message, /env OTEL_EXPORTER_OTLP_PROTOCOL: expected one of "grpc", "http\/protobuf", "http\/json", got "thrift"/);
      assert.match(err.message, /env OTEL_EXPORTER_OTLP_ENDPOINT: expected an http\(s\) URL such as "http:\/\/collector:4318", got "collector:4318"/);
      return true;
    });
  });
});

describe('environment switches: every bad value, and precedence, decided without a process', () => {
  it('portcullis validate reports a malformed variable with the config errors (exit 1)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pcl-env-validate-'));
    try {
      const file = join(dir, 'gateway.config.ts');
      writeFileSync(file, `export default ${JSON.stringify(config())};\n`);
      const r = spawnSync(process.execPath, ['--no-node-snapshot', BIN, 'validate', '-c', file], { env: { ...process.env, ...CLEAN, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'localhost:4318' }, encoding: 'utf8' });
      assert.equal(r.status, 1, r.stdout + r.stderr);
      assert.match(r.stdout + r.stderr, /PCL_ERR_CONFIG_INVALID/);
      assert.match(r.stdout + r.stderr, /env OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: expected an http\(s\) URL such as "http:\/\/collector:4318", got "localhost:4318"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const raw = (extra: Partial<GatewayConfig> = {}) => ({ ...config(), ...extra });
  const issues = (env: Record<string, string>, extra: Partial<GatewayConfig> = {}) => telemetryEnvIssues(raw(extra), env).map((i) => `${i.path}: ${i.message}`);

  it('names the variable and what it got', () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };
    assert.deepEqual(issues({ ...endpoint, OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'HTTP' }), ['env OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: expected one of "grpc", "http/protobuf", "http/json", got "HTTP"']);
    assert.deepEqual(issues({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'ftp://collector/v1/traces' }), ['env OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: expected an http(s) URL such as "http://collector:4318", got "ftp://collector/v1/traces"']);
    assert.deepEqual(issues({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }), ['env OTEL_EXPORTER_OTLP_ENDPOINT: expected an http(s) URL such as "http://collector:4317", got "collector:4317"']);
    assert.deepEqual(issues({ ...endpoint, OTEL_TRACES_SAMPLER_ARG: '1.5' }), ['env OTEL_TRACES_SAMPLER_ARG: expected a number from 0 to 1, got "1.5"']);
    assert.deepEqual(issues({ ...endpoint, OTEL_TRACES_SAMPLER: 'jaeger_remote' }), [
      'env OTEL_TRACES_SAMPLER: expected one of always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio, got "jaeger_remote" (new traces are always sampled parent-based)',
    ]);
    assert.deepEqual(issues({ ...endpoint, OTEL_TRACES_EXPORTER: 'zipkin' }), ['env OTEL_TRACES_EXPORTER: expected "otlp" or "none", got "zipkin" (Portcullis exports traces over OTLP only)']);
    assert.deepEqual(issues({ ...endpoint, OTEL_SDK_DISABLED: 'yes' }), ['env OTEL_SDK_DISABLED: expected "true" or "false", got "yes"']);
    assert.deepEqual(issues({ LANGFUSE_PUBLIC_KEY: 'pk', LANGFUSE_SECRET_KEY: 'sk', LANGFUSE_BASE_URL: 'cloud.langfuse.com' }), ['env LANGFUSE_BASE_URL: expected an http(s) URL such as "https://cloud.langfuse.com", got "cloud.langfuse.com"']);
  });

  it('a variable the config overrides is not read, so it is not checked; blank is unset', () => {
    assert.deepEqual(issues({ OTEL_EXPORTER_OTLP_ENDPOINT: 'nonsense', OTEL_EXPORTER_OTLP_PROTOCOL: 'nonsense' }, { tracing: { endpoint: 'http://127.0.0.1:4318/v1/traces', protocol: 'http/json' } }), []);
    assert.deepEqual(issues({ LANGFUSE_BASE_URL: 'nonsense' }, { langfuse: { baseUrl: 'http://127.0.0.1:3000' } }), []);
    assert.deepEqual(issues({ OTEL_EXPORTER_OTLP_ENDPOINT: '  ', OTEL_EXPORTER_OTLP_PROTOCOL: '' }), []);
    // Switches that decide nothing here (no endpoint, no key pair, a config block) are another program's business.
    assert.deepEqual(issues({ OTEL_TRACES_EXPORTER: 'console', OTEL_SDK_DISABLED: '1', LANGFUSE_BASE_URL: 'nonsense' }), []);
    assert.deepEqual(issues({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'zipkin' }, { tracing: {} }), []);
    assert.deepEqual(issues({ LANGFUSE_BASE_URL: 'nonsense' }, { langfuse: {} }), ['env LANGFUSE_BASE_URL: expected an http(s) URL such as "https://cloud.langfuse.com", got "nonsense"']);
  });

  it('resolves gRPC defaults and the samplers', () => {
    const saved = { ...process.env };
    try {
      for (const k of Object.keys(CLEAN)) delete process.env[k];
      Object.assign(process.env, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4317/', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' });
      const t = resolveConfig(raw() as GatewayConfig, '/base', builtinBackends).telemetry;
      // The gRPC endpoint is taken as given: no signal path.
      assert.deepEqual([t.tracing?.endpoint, t.tracing?.protocol, t.tracing?.samplerRatio, t.decisions.tracing.from], ['http://collector:4317/', 'grpc', 0.25, 'OTEL_EXPORTER_OTLP_ENDPOINT']);
      process.env.OTEL_TRACES_SAMPLER = 'always_off';
      assert.equal(resolveConfig(raw() as GatewayConfig, '/base', builtinBackends).telemetry.tracing?.samplerRatio, 0);
      const block = resolveConfig(raw({ tracing: { protocol: 'grpc' } }) as GatewayConfig, '/base', builtinBackends).telemetry.tracing;
      assert.equal(block?.endpoint, 'http://collector:4317/');
      delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
      assert.equal(resolveConfig(raw({ tracing: { protocol: 'grpc' } }) as GatewayConfig, '/base', builtinBackends).telemetry.tracing?.endpoint, 'http://localhost:4317');
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  });
});
