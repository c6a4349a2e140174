// The real observability backends the telemetry tests run against: Jaeger v2 (started on loopback ports, queried
// through its own query API), Prometheus' scrape parser (a small Go program on prometheus/model/textparse) and
// promtool. Jaeger and promtool are built by `npm run setup:test` into .tools/bin (`npm install` does not: only tests
// need them); when one is missing the test fails and says to run it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, mkdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const INSTALL = 'run "npm run setup:test" (it builds Jaeger and promtool into .tools/bin with Go)';

function findTool(name: string, envVar: string): string {
  const candidates = [process.env[envVar], join(ROOT, '.tools', 'bin', name), ...(process.env.PATH ?? '').split(delimiter).map((d) => d && join(d, name))];
  for (const c of candidates) {
    if (!c) continue;
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // not this one
    }
  }
  throw new Error(`${name} is not installed: ${INSTALL}, or set ${envVar} to its path`);
}

export const jaegerPath = () => findTool('jaeger', 'PORTCULLIS_JAEGER');
export const promtoolPath = () => findTool('promtool', 'PORTCULLIS_PROMTOOL');

export interface JaegerTag {
  key: string;
  type: string;
  value: string | number | boolean;
}

export interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: Array<{ refType: string; traceID: string; spanID: string }>;
  tags: JaegerTag[];
  processID: string;
}

export interface Jaeger {
  /** OTLP/HTTP traces endpoint. */
  otlpUrl: string;
  /** OTLP/gRPC receiver (`http://127.0.0.1:port`), the collector port agentgateway exports to by default. */
  otlpGrpcUrl: string;
  queryUrl: string;
  trace(traceId: string): Promise<JaegerSpan[]>;
  /** Polls the query API until the trace has `count` spans at least. */
  waitForTrace(traceId: string, count: number, timeoutMs?: number): Promise<JaegerSpan[]>;
  /** Polls the query API until the trace holds a span matching `pred`; resolves with the whole trace. */
  waitForSpan(traceId: string, pred: (span: JaegerSpan, all: JaegerSpan[]) => boolean, timeoutMs?: number): Promise<JaegerSpan[]>;
  close(): Promise<void>;
}

export const tag = (span: JaegerSpan, key: string) => span.tags.find((t) => t.key === key)?.value;

/** The JSON fields of Jaeger's (the OTel collector's) console log lines: time, level, caller, message, then JSON. */
function jaegerLines(log: string): Array<{ msg: string; fields: Record<string, any> }> {
  const lines: Array<{ msg: string; fields: Record<string, any> }> = [];
  for (const line of log.split('\n')) {
    const parts = line.split('\t');
    if (parts.length < 5) continue;
    try {
      lines.push({ msg: parts[3], fields: JSON.parse(parts.slice(4).join('\t')) });
    } catch {
      // a partial line, or not one of its log lines
    }
  }
  return lines;
}

/**
 * Starts Jaeger v2 (all-in-one, in-memory storage) on loopback port 0; the ports it bound are read from its log
 * (info level: the OTLP receivers log their endpoints, the query server its address) once it says it is ready.
 */
export async function startJaeger(): Promise<Jaeger> {
  const bin = jaegerPath();
  const dir = await mkdtemp(join(tmpdir(), 'pcl-jaeger-'));
  const config = join(dir, 'jaeger.yaml');
  await writeFile(
    config,
    `service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: info
extensions:
  jaeger_query:
    storage:
      traces: mem
    http:
      endpoint: 127.0.0.1:0
    grpc:
      endpoint: 127.0.0.1:0
  jaeger_storage:
    backends:
      mem:
        memory:
          max_traces: 10000
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:0
      grpc:
        endpoint: 127.0.0.1:0
exporters:
  jaeger_storage_exporter:
    trace_storage: mem
`,
  );
  const child: ChildProcess = spawn(bin, ['--config', `file:${config}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`jaeger did not start within 20 s: ${log.slice(-2000)}`)), 20_000);
    const onData = (d: Buffer) => {
      log += d;
      if (log.includes('Everything is ready')) done();
    };
    const onExit = (code: number | null) => fail(new Error(`jaeger exited with ${code}: ${log.slice(-2000)}`));
    const done = () => {
      clearTimeout(timer);
      child.off('exit', onExit);
      resolve();
    };
    const fail = (err: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(err);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', onExit);
  });
  await ready.catch(async (err) => {
    await rm(dir, { recursive: true, force: true });
    throw err;
  });
  const lines = jaegerLines(log);
  const address = (msg: string, component: string, field: string) => {
    const value = lines.find((l) => l.msg === msg && l.fields['otelcol.component.id'] === component)?.fields[field];
    if (typeof value !== 'string') throw new Error(`jaeger logged no ${component} "${msg}" ${field}: ${log.slice(-3000)}`);
    return value;
  };
  const queryUrl = `http://${address('Query server started', 'jaeger_query', 'http_addr')}`;
  const otlp = address('Starting HTTP server', 'otlp', 'endpoint');
  const otlpGrpc = address('Starting GRPC server', 'otlp', 'endpoint');
  const trace = async (traceId: string): Promise<JaegerSpan[]> => {
    const res = await fetch(`${queryUrl}/api/traces/${traceId}`);
    if (res.status === 404) return [];
    const body = (await res.json()) as { data?: Array<{ spans: JaegerSpan[] }> };
    return body.data?.[0]?.spans ?? [];
  };
  return {
    otlpUrl: `http://${otlp}/v1/traces`,
    otlpGrpcUrl: `http://${otlpGrpc}`,
    queryUrl,
    trace,
    async waitForTrace(traceId, count, timeoutMs = 15_000) {
      const end = Date.now() + timeoutMs;
      let spans: JaegerSpan[] = [];
      while (Date.now() < end) {
        spans = await trace(traceId);
        if (spans.length >= count) return spans;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`jaeger: trace ${traceId} has ${spans.length} span(s) after ${timeoutMs} ms, expected ${count}: ${spans.map((s) => s.operationName).join(', ')}`);
    },
    async waitForSpan(traceId, pred, timeoutMs = 15_000) {
      const end = Date.now() + timeoutMs;
      let spans: JaegerSpan[] = [];
      while (Date.now() < end) {
        spans = await trace(traceId);
        if (spans.some((s) => pred(s, spans))) return spans;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`jaeger: no matching span in trace ${traceId} after ${timeoutMs} ms: ${spans.map((s) => s.operationName).join(', ')}`);
    },
    async close() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('close', r));
        child.kill('SIGTERM');
        const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(kill);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface ParsedMetrics {
  families: Record<string, { type: string; help: string }>;
  samples: Array<{ name: string; labels: Record<string, string>; value: number }>;
}

let promparse: string | undefined;

/**
 * Parses an exposition with Prometheus' scrape parser (`textparse.New`, picked by content type as a scrape does):
 * the Go program in test/fixtures/telemetry/promparse, built once into the temp folder (keyed by its source).
 */
export function parseExposition(body: string, contentType: string): ParsedMetrics {
  if (!promparse) {
    const src = fileURLToPath(new URL('../fixtures/telemetry/promparse/', import.meta.url));
    const hash = createHash('sha256').update(readFileSync(join(src, 'main.go'))).update(readFileSync(join(src, 'go.sum'))).digest('hex').slice(0, 16);
    const dir = join(tmpdir(), 'portcullis-promparse');
    const out = join(dir, `promparse-${hash}`);
    try {
      accessSync(out, constants.X_OK);
    } catch {
      mkdirSync(dir, { recursive: true });
      const go = spawnSync('go', ['build', '-o', out, '.'], { cwd: src, encoding: 'utf8', env: { ...process.env, GOFLAGS: '-mod=mod' } });
      if (go.error || go.status !== 0) throw new Error(`cannot build the Prometheus parser (needs Go, as the OPA install does): ${go.error?.message ?? go.stderr}`);
    }
    promparse = out;
  }
  const r = spawnSync(promparse, [contentType], { input: body, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`Prometheus' parser refused the exposition: ${r.stderr}`);
  const parsed = JSON.parse(r.stdout) as { families: ParsedMetrics['families']; samples: Array<{ name: string; labels: Record<string, string>; value: string }> };
  return { families: parsed.families, samples: parsed.samples.map((s) => ({ ...s, value: Number(s.value.replace(/^\+Inf$/, 'Infinity').replace(/^-Inf$/, '-Infinity')) })) };
}

/** `promtool check metrics` on an exposition: its lint findings (empty when clean). Throws when promtool is missing. */
export function promtoolCheck(body: string): { status: number; output: string } {
  const bin = promtoolPath();
  const r = spawnSync(bin, ['check', 'metrics'], { input: body, encoding: 'utf8' });
  return { status: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}

export function sample(parsed: ParsedMetrics, name: string, labels: Record<string, string> = {}): number | undefined {
  return parsed.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}
