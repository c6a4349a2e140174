// One open/use/close cycle of an MCP session and a plain HTTP request, shared by the soak test (short, in CI) and
// bench/soak.ts (the 10-minute run).
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

/** Heap after a full collection, and RSS, in bytes (needs a `gc` function: see `exposeGc`). */
export function measure(gc: () => void): { heap: number; rss: number; heapTotal: number; external: number } {
  gc();
  gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, rss: m.rss, heapTotal: m.heapTotal, external: m.external };
}

export async function exposeGc(): Promise<() => void> {
  const { setFlagsFromString } = await import('node:v8');
  const { runInNewContext } = await import('node:vm');
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}
