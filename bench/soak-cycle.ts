// One open/use/close cycle of an MCP session and a plain HTTP request, shared by the soak test (short, in CI) and
// bench/soak.ts (the 10-minute run).
import { getHeapSpaceStatistics } from 'node:v8';
import type { Pool } from 'undici';

const HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
const INIT = { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'soak', version: '1' } } };

async function post(pool: Pool, path: string, body: unknown, headers: Record<string, string> = {}): Promise<string | undefined> {
  const res = await pool.request({ path, method: 'POST', headers: { ...HEADERS, ...headers }, body: JSON.stringify(body) });
  const text = await res.body.text();
  if (res.statusCode >= 300) throw new Error(`${path}: ${res.statusCode} ${text}`);
  return res.headers['mcp-session-id'] as string | undefined;
}

/** initialize → initialized → tools/list → tools/call → DELETE on `mcpPath`, and one GET of `httpPath`. */
export async function soakCycle(pool: Pool, mcpPath: string, httpPath: string, i: number): Promise<void> {
  const id = (await post(pool, mcpPath, INIT))!;
  const h = { 'mcp-session-id': id, 'mcp-protocol-version': '2025-06-18' };
  await post(pool, mcpPath, { jsonrpc: '2.0', method: 'notifications/initialized' }, h);
  await post(pool, mcpPath, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, h);
  await post(pool, mcpPath, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: { text: `soak ${i}` } } }, h);
  const del = await pool.request({ path: mcpPath, method: 'DELETE', headers: h });
  await del.body.text();
  const res = await pool.request({ path: httpPath, method: 'GET' });
  await res.body.text();
}

/** Heap data (code excluded) after a full collection, and RSS, in bytes (needs a `gc` function: see `exposeGc`). */
export function measure(gc: () => void): { heap: number; rss: number; heapTotal: number; external: number } {
  gc();
  gc();
  const m = process.memoryUsage();
  // Compiled code comes and goes with the JIT's mood (hundreds of KiB either way on a loaded host): the heap
  // figure is the data, without the code spaces.
  let heap = 0;
  for (const space of getHeapSpaceStatistics()) if (!space.space_name.startsWith('code')) heap += space.space_used_size;
  return { heap, rss: m.rss, heapTotal: m.heapTotal, external: m.external };
}

/**
 * `measure` once the collected promises' destroy hooks have run. Under `node --test` every promise the test makes
 * is an entry in the runner's async-resource map until its destroy hook runs, which is an immediate after the
 * collection: measured straight after `gc()`, that map's table (hundreds of KiB, doubling in steps) reads as growth.
 */
export async function measureSettled(gc: () => void): Promise<ReturnType<typeof measure>> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  return measure(gc);
}

export async function exposeGc(): Promise<() => void> {
  const { setFlagsFromString } = await import('node:v8');
  const { runInNewContext } = await import('node:vm');
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}
