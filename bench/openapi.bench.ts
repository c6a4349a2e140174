// OpenAPI target: a tools/call of an OpenAPI tool through the gateway (MCP session, argument check, one HTTP call
// to the REST service, JSON result) against the same REST call made directly, interleaved in one run so drift
// hits both alike; and the load time of the largest spec at hand (GitHub's REST API description, 13 MB).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { loadSpec, OpenApiApi } from '../core/backends/mcp/upstream/openapi/index.ts';
import { startPortcullis } from '../core/server/index.ts';
import { createLogger } from '../core/telemetry/index.ts';
import { builtinPolicies } from '../policies/index.ts';
import { builtinBackends } from '../core/gateway/backends.ts';
import { startPetstore } from '../test/fixtures/openapi/petstore-server.ts';
import { percentile, type BenchSection } from './report.ts';

const ROUNDS = Number(process.env.BENCH_OPENAPI_ROUNDS ?? 2000);
const WARMUP = 200;
const BUDGET_MS = 20_000;
const SPEC = fileURLToPath(new URL('../test/fixtures/openapi/petstore.yaml', import.meta.url));
const GITHUB = createRequire(import.meta.url).resolve('@octokit/openapi/generated/api.github.com.json');
const HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

export async function bench(): Promise<BenchSection> {
  const store = await startPetstore();
  const dir = mkdtempSync(join(tmpdir(), 'pcl-bench-openapi-'));
  const file = join(dir, 'gateway.config.ts');
  const config = {
    admin: { address: false },
    readiness: { address: false },
    binds: [{ port: 0, address: '127.0.0.1', listeners: [{ routes: [{ name: 'pets', backends: [{ mcp: { targets: [{ name: 'petstore', openapi: { schema: { file: SPEC }, host: store.host } }] } }] }] }] }],
  };
  writeFileSync(file, `import { defineConfig } from 'portcullis';\nexport default defineConfig(${JSON.stringify(config)});\n`);
  const running = await startPortcullis({
    configFile: file,
    policies: builtinPolicies,
    backends: builtinBackends,
    watch: false,
    logger: createLogger({ level: 'warn', destination: new Writable({ write: (_c, _e, cb) => cb() }) }),
  });
  const direct = new Pool(`http://${store.host}`, { connections: 1 });
  const gateway = new Pool(`http://127.0.0.1:${running.gateway.ports()[0]}`, { connections: 1 });
  try {
    const post = async (body: unknown, headers: Record<string, string> = {}) => {
      const res = await gateway.request({ path: '/mcp', method: 'POST', headers: { ...HEADERS, ...headers }, body: JSON.stringify(body) });
      const text = await res.body.text();
      if (res.statusCode >= 300) throw new Error(`gateway answered ${res.statusCode}: ${text}`);
      return { session: res.headers['mcp-session-id'] as string | undefined, text };
    };
    const init = await post({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '1' } } });
    const h = { 'mcp-session-id': init.session!, 'mcp-protocol-version': '2025-06-18' };
    await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, h);
    let id = 1;
    const viaGateway = async () => {
      const { text } = await post({ jsonrpc: '2.0', id: id++, method: 'tools/call', params: { name: 'getPetById', arguments: { petId: 1 } } }, h);
      if (!text.includes('"structuredContent"')) throw new Error(`unexpected answer: ${text.slice(0, 200)}`);
    };
    const straight = async () => {
      const res = await direct.request({ path: '/v3/pet/1', method: 'GET', headers: { accept: 'application/json' } });
      await res.body.json();
    };
    for (let i = 0; i < WARMUP; i++) {
      await straight();
      await viaGateway();
    }
    const times = { direct: [] as number[], gateway: [] as number[] };
    const until = performance.now() + BUDGET_MS;
    for (let i = 0; i < ROUNDS && performance.now() < until; i++) {
      let t = performance.now();
      await straight();
      times.direct.push(performance.now() - t);
      t = performance.now();
      await viaGateway();
      times.gateway.push(performance.now() - t);
    }
    const row = (name: string, v: number[]) => ({
      measure: name,
      rounds: v.length,
      'p50 ms': percentile(v, 50),
      'p99 ms': percentile(v, 99),
      'p50 vs direct': percentile(v, 50) / percentile(times.direct, 50),
    });

    const load = async () => {
      const t = performance.now();
      const spec = await loadSpec({ file: GITHUB }, { baseDir: '/', where: 'bench' });
      const api = new OpenApiApi(spec, { schema: 'x', url: 'https://api.github.com' }, 'bench');
      return { ms: performance.now() - t, tools: api.tools.size, listBytes: JSON.stringify(api.list).length };
    };
    const first = await load();
    const second = await load();
    const petstoreLoad = performance.now();
    await loadSpec({ file: SPEC }, { baseDir: '/', where: 'bench' });
    const petstoreMs = performance.now() - petstoreLoad;
    return {
      title: 'OpenAPI target: tools/call through the gateway vs the REST call direct; spec load time',
      rows: [
        row('GET /v3/pet/1 direct (undici, keep-alive)', times.direct),
        row('tools/call getPetById via gateway (streamable HTTP, SSE answer)', times.gateway),
        { measure: `load GitHub spec (13 MB, ${first.tools} tools), first in process`, rounds: 1, 'p50 ms': first.ms },
        { measure: 'load GitHub spec again (meta-schema validator compiled)', rounds: 1, 'p50 ms': second.ms },
        { measure: 'load Petstore spec (22 KB, warm)', rounds: 1, 'p50 ms': petstoreMs },
      ],
      notes: [
        'Sequential round trips on one keep-alive connection each, interleaved direct/gateway. The gateway figure adds the MCP session, message pipeline, argument validation (ajv, compiled on first call), serialization and the JSON result with structuredContent + text.',
        `Spec load = read + parse + meta-schema validation + $ref check + one tool per operation (not the validators, compiled per tool on first call). GitHub tools/list is ${(first.listBytes / 1e6).toFixed(1)} MB: include filters keep lists of such APIs small.`,
      ],
    };
  } finally {
    await Promise.allSettled([direct.close(), gateway.close()]);
    await running.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
