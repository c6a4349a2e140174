/**
 * The sandbox process's watchdog: a thread that ends the process when a filter call cannot be stopped otherwise.
 *
 * isolated-vm stops a call at its time limit and an isolate at its heap limit, but not always: a huge
 * `Array.prototype.fill` is one builtin call that neither interrupt reaches, and in our runs its timeout sometimes
 * missed a plain loop once optimized; meanwhile memory outside the heap's accounting can grow (a 16 MiB isolate
 * filling a 2^26-element array reached 375 MiB of RSS). The main thread is blocked in that call, so the check runs
 * on a thread: it sleeps on a shared word until a call starts, then in steps of 50 ms until the call's deadline,
 * and kills this process (the gateway fails the call and restarts the process) if the same call is past its
 * deadline (`timeoutMs` + 250 ms) or the process grew by more than twice its `memoryLimitMb` + 64 MiB since the
 * watchdog first saw it running. Waking a thread costs more than a trivial call, so the main thread wakes it only
 * when the new deadline comes before the moment it already sleeps to.
 */
import { Worker } from 'node:worker_threads';
import { MEMORY_OVERRUN_MESSAGE, OVERRUN_MESSAGE } from './protocol.ts';
import { siblingEntry } from '../entry.ts';

const OVERRUN_GRACE_MS = 250;
const MIB = 1024 * 1024;

// [0] call sequence number (Int32) | [8] deadline, ms since epoch, 0 when idle | [16] when the watchdog wakes next
// | [24] bytes the process may grow by during the current call
const shared = new SharedArrayBuffer(32);
const seq = new Int32Array(shared, 0, 1);
const deadline = new Float64Array(shared, 8, 1);
const wakeAt = new Float64Array(shared, 16, 1);
const growth = new Float64Array(shared, 24, 1);
wakeAt[0] = Infinity;

const worker = new Worker(siblingEntry('watchdog-worker', import.meta.url), {
  workerData: { shared, timeoutMessage: `${OVERRUN_MESSAGE}\n`, memoryMessage: `${MEMORY_OVERRUN_MESSAGE}\n` },
});
worker.unref();

/** Marks the start of a call allowed `ms` of wall time and `memoryLimitMb` of heap. */
export function guard(ms: number, memoryLimitMb: number): void {
  const d = Date.now() + ms + OVERRUN_GRACE_MS;
  deadline[0] = d;
  growth[0] = (2 * memoryLimitMb + 64) * MIB;
  Atomics.add(seq, 0, 1);
  if (wakeAt[0] > d) Atomics.notify(seq, 0);
}

/** Marks the end of the call. */
export function unguard(): void {
  deadline[0] = 0;
}
