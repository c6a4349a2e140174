import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { listenPort, startCli } from '../helpers/replica.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const HOOK = join(ROOT, 'test/fixtures/hooks/record-loads.mjs');
/** Packages only some configs need: a gateway whose config does not use them must not load them (idle memory). */
const OPTIONAL = ['@opentelemetry/sdk-trace-base', '@opentelemetry/exporter-trace-otlp-proto', '@opentelemetry/exporter-trace-otlp-grpc', '@grpc/grpc-js', '@langfuse/otel', 'ioredis', '@marcbachmann/cel-js', '@apidevtools/swagger-parser', 'ajv', 'jose', '@open-policy-agent/opa-wasm', 'pino-pretty', 'zod', 'yaml'];

/** Starts the CLI on `config` (its bind on port 0), waits for an answer on `/`, and returns the packages it loaded. */
async function packagesLoaded(config: string): Promise<Set<string>> {
  const dir = mkdtempSync(join(tmpdir(), 'pcl-lazy-'));
  const file = join(dir, 'gateway.config.ts');
  const record = join(dir, 'loads.txt');
  writeFileSync(file, config);
  writeFileSync(record, '');
  const gw = await startCli(['start', '--no-watch', '-c', file], { nodeArgs: ['--no-node-snapshot', '--import', HOOK], env: { PCL_RECORD_LOADS: record } });
  try {
    const port = await listenPort(gw);
    const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(5000) });
    assert.equal(res.status, 200, `the gateway did not answer: ${gw.output()}`);
    await res.text();
  } finally {
    // What loads at startup is recorded (synchronously) by now; a graceful stop would wait out the unreachable
    // trace endpoint's export retries, seconds for nothing.
    await gw.cleanup();
  }
  const packages = new Set<string>();
  for (const url of readFileSync(record, 'utf8').split('\n')) {
    const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
    if (m) packages.add(m[1]);
  }
  return packages;
}

const configWith = (extra: string) =>
  `export default { admin: { address: false }, readiness: { address: false }, stats: { address: '127.0.0.1:0' }, ${extra}
  binds: [{ port: 0, address: '127.0.0.1', listeners: [{ routes: [{ policies: { directResponse: { status: 200, body: 'ok' } } }] }] }] };\n`;

describe('packages load when a config uses them, not at startup', () => {
  it('a gateway with metrics and logs but no tracing, Redis, CEL, OpenAPI, JWT or Rego loads none of those packages', async () => {
    const loaded = await packagesLoaded(configWith("logging: { format: 'json' },"));
    assert.ok(loaded.has('prom-client') && loaded.has('pino'), `the recording works: ${[...loaded].join(', ')}`);
    for (const name of OPTIONAL) assert.ok(!loaded.has(name), `${name} was loaded at startup`);
  });

  it('turning trace export on loads the OpenTelemetry SDK (what the first test checks is really seen)', async () => {
    const loaded = await packagesLoaded(configWith("tracing: { endpoint: 'http://127.0.0.1:9/v1/traces' },"));
    assert.ok(loaded.has('@opentelemetry/sdk-trace-base'), `loaded: ${[...loaded].join(', ')}`);
    // OTLP over HTTP does not pay for the gRPC stack.
    assert.ok(!loaded.has('@grpc/grpc-js') && !loaded.has('@opentelemetry/exporter-trace-otlp-grpc'), `loaded: ${[...loaded].join(', ')}`);
  });
});
