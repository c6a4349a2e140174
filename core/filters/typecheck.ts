import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { siblingEntry } from '../entry.ts';

const SDK_ENTRY = fileURLToPath(new URL('../../sdk-types/index.ts', import.meta.url));

export type TypeCheckResult = { ok: true } | { ok: false; errors: string[] } | { ok: 'skipped'; reason: string };

let worker: Worker | undefined;
let nextId = 0;
const pending = new Map<number, (r: TypeCheckResult) => void>();

function start(): Worker {
  const w = new Worker(siblingEntry('typecheck-worker', import.meta.url));
  w.unref(); // idle, it must not keep a gateway from exiting; it is ref'd while a check runs
  w.on('message', (m: { id: number; errors?: string[]; unavailable?: string }) => {
    const done = pending.get(m.id);
    pending.delete(m.id);
    if (pending.size === 0) w.unref();
    if (m.unavailable !== undefined) done?.({ ok: 'skipped', reason: m.unavailable });
    else done?.(m.errors!.length === 0 ? { ok: true } : { ok: false, errors: m.errors! });
  });
  const fail = (reason: string) => {
    worker = undefined;
    for (const done of pending.values()) done({ ok: 'skipped', reason });
    pending.clear();
  };
  w.on('error', (err) => fail(err.message));
  w.on('exit', (code) => fail(`type checker exited with code ${code}`));
  return w;
}

/**
 * Type-checks a filter file with the TypeScript compiler when the `typescript` package is installed (skipped
 * otherwise). Runs in a worker thread shared by the process, so a reload never blocks traffic on it.
 */
export function typeCheckFilter(file: string): Promise<TypeCheckResult> {
  worker ??= start();
  const id = nextId++;
  return new Promise((resolve) => {
    pending.set(id, resolve);
    worker!.ref();
    worker!.postMessage({ id, file, sdkEntry: SDK_ENTRY });
  });
}
