// A fixed-rate load client with microsecond latencies, run as its own process by the benches:
//   node bench/fixed-rate.mjs <url> <rate per s> <seconds> [connections] [--raw]
// --raw adds every latency (µs), so a caller can merge interleaved runs.
// Requests are paced by a 1 ms timer (a busy loop would steal a core from what is measured on a 2-core box);
// latency is timed from each request's actual send with hrtime, so sub-millisecond differences show.
import { Pool } from 'undici';

const raw = process.argv.includes('--raw');
const [url, rateArg = '1000', secondsArg = '5', connsArg = '16'] = process.argv.slice(2).filter((a) => a !== '--raw');
const rate = Number(rateArg);
const seconds = Number(secondsArg);
const u = new URL(url);
const pool = new Pool(u.origin, { connections: Number(connsArg), pipelining: 1 });
const total = Math.round(rate * seconds);
const interval = 1e9 / rate; // ns
const latencies = new Float64Array(total);
let errors = 0;
let done = 0;
const start = process.hrtime.bigint();

await new Promise((resolve) => {
  let sent = 0;
  const tick = () => {
    const now = Number(process.hrtime.bigint() - start);
    while (sent < total && sent * interval <= now) {
      const i = sent++;
      const scheduled = Number(process.hrtime.bigint() - start);
      pool
        .request({ path: u.pathname + u.search, method: 'GET' })
        .then(async (res) => {
          await res.body.dump();
          if (res.statusCode !== 200) errors++;
        })
        .catch(() => errors++)
        .finally(() => {
          latencies[i] = (Number(process.hrtime.bigint() - start) - scheduled) / 1e3; // µs
          if (++done === total) resolve();
        });
    }
    if (sent < total) setTimeout(tick, 1);
  };
  tick();
});
await pool.close();
const sorted = Array.from(latencies).sort((a, b) => a - b);
const pct = (p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
process.stdout.write(JSON.stringify({ requests: total, rps: total / elapsed, p50us: pct(50), p90us: pct(90), p99us: pct(99), errors, ...(raw ? { latencies: sorted.map((v) => Math.round(v)) } : {}) }) + '\n');
