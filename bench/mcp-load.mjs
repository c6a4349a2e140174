// Closed-loop MCP tools/call load in its own process: keeps `concurrency` calls in flight for `seconds`.
// Era 2025 (the default): initialize, then the calls on the session (if the server gave one). Era 2026: every call a
// stateless 2026-07-28 request with its _meta envelope and the Mcp-Method/Mcp-Name headers.
// Prints JSON: { count, errors, seconds, latencies (µs) }.
// Usage: node bench/mcp-load.mjs <url> <concurrency> <seconds> [2025|2026] [tool] [expected text] [arguments JSON]
import { Pool } from 'undici';

const [url, concurrencyArg, secondsArg, era = '2025', tool = 'echo', expected = 'Echo: bench', argsJson = '{"message":"bench"}'] = process.argv.slice(2);
const concurrency = Number(concurrencyArg);
const seconds = Number(secondsArg);
const u = new URL(url);
const pool = new Pool(u.origin, { connections: concurrency, pipelining: 1 });
const base = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

async function post(body, headers = {}) {
  const res = await pool.request({ path: u.pathname, method: 'POST', headers: { ...base, ...headers }, body: JSON.stringify(body) });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text };
}

let headers = {};
let params = { name: tool, arguments: JSON.parse(argsJson) };
if (era === '2025') {
  const init = await post({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'bench', version: '1' } } });
  const session = init.headers['mcp-session-id'];
  headers = { 'mcp-protocol-version': '2025-11-25', ...(session ? { 'mcp-session-id': session } : {}) };
  await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, headers);
} else {
  headers = { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': tool };
  params = { ...params, _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientInfo': { name: 'bench', version: '1' }, 'io.modelcontextprotocol/clientCapabilities': {} } };
}

const latencies = [];
let errors = 0;
let id = 1;
const until = performance.now() + seconds * 1000;
async function worker() {
  while (performance.now() < until) {
    const t0 = performance.now();
    const r = await post({ jsonrpc: '2.0', id: id++, method: 'tools/call', params }, headers);
    if (r.status !== 200 || !r.text.includes(expected)) errors++;
    else latencies.push(Math.round((performance.now() - t0) * 1000));
  }
}
await Promise.all(Array.from({ length: concurrency }, worker));
if (headers['mcp-session-id']) await pool.request({ path: u.pathname, method: 'DELETE', headers }).then((r) => r.body.text()).catch(() => {});
await pool.close();
process.stdout.write(JSON.stringify({ count: latencies.length, errors, seconds, latencies }));
