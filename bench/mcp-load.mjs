// Closed-loop MCP load in its own process: opens one session, then keeps `concurrency` tools/call requests in
// flight for `seconds`. Prints JSON: { count, errors, seconds, latencies (µs) }.
// Usage: node bench/mcp-load.mjs <url> <concurrency> <seconds>
import { Pool } from 'undici';

const [url, concurrencyArg, secondsArg] = process.argv.slice(2);
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

const init = await post({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '1' } } });
const session = init.headers['mcp-session-id'];
const headers = { 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' };
await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, headers);

const latencies = [];
let errors = 0;
let id = 1;
const until = performance.now() + seconds * 1000;
async function worker() {
  while (performance.now() < until) {
    const t0 = performance.now();
    const r = await post({ jsonrpc: '2.0', id: id++, method: 'tools/call', params: { name: 'echo', arguments: { message: 'bench' } } }, headers);
    if (r.status !== 200 || !r.text.includes('Echo: bench')) errors++;
    else latencies.push(Math.round((performance.now() - t0) * 1000));
  }
}
await Promise.all(Array.from({ length: concurrency }, worker));
await pool.request({ path: u.pathname, method: 'DELETE', headers }).then((r) => r.body.text()).catch(() => {});
await pool.close();
process.stdout.write(JSON.stringify({ count: latencies.length, errors, seconds, latencies }));
