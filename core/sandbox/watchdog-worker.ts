// The watchdog thread of a sandbox process (see watchdog.ts). Blocking waits are its whole job.
import { writeSync } from 'node:fs';
import { workerData } from 'node:worker_threads';

const { shared, timeoutMessage, memoryMessage } = workerData as { shared: SharedArrayBuffer; timeoutMessage: string; memoryMessage: string };
const seq = new Int32Array(shared, 0, 1);
const deadline = new Float64Array(shared, 8, 1);
const wakeAt = new Float64Array(shared, 16, 1);
const growth = new Float64Array(shared, 24, 1);
const STEP_MS = 50;

function end(s: number, d: number, message: string): void {
  // The call may have ended while we looked: only the same call, still running, ends the process.
  if (Atomics.load(seq, 0) !== s || deadline[0] !== d) return;
  writeSync(2, message);
  process.kill(process.pid, 'SIGKILL');
}

let watched = -1;
let base = 0;
for (;;) {
  const s = Atomics.load(seq, 0);
  const d = deadline[0];
  if (d === 0) {
    wakeAt[0] = Infinity;
    Atomics.wait(seq, 0, s);
    continue;
  }
  const now = Date.now();
  if (now >= d) {
    end(s, d, timeoutMessage);
    continue;
  }
  const rss = process.memoryUsage.rss();
  if (watched !== s) {
    watched = s;
    base = rss;
  } else if (rss - base > growth[0]) {
    end(s, d, memoryMessage);
  }
  const step = Math.min(d - now, STEP_MS);
  wakeAt[0] = now + step;
  Atomics.wait(seq, 0, s, step);
}
