import cluster from 'node:cluster';

/** The environment variable that tells a worker its index (0-based, stable across restarts of that worker). */
export const WORKER_INDEX_ENV = 'PORTCULLIS_WORKER_INDEX';

/** The index of this worker process, or undefined outside a worker (one process, or the supervisor). */
export function workerIndex(): number | undefined {
  const v = process.env[WORKER_INDEX_ENV];
  return cluster.isWorker && v !== undefined ? Number(v) : undefined;
}

const index = workerIndex();
/** `w<index>.` in a worker, '' otherwise: the start of every stateful session id this process hands out. */
const PREFIX = index === undefined ? '' : `w${index}.`;

/**
 * A session id that names the worker owning the session (`w3.<uuid>`), so that a request landing on another
 * worker can be handed to the owner (see core/cluster/handoff.ts). In one process ids carry no prefix.
 */
export function ownedSessionId(random: string): string {
  return PREFIX + random;
}

/** The worker a session id names, or undefined when it names none (one-process ids, or garbage). */
export function ownerOfSessionId(id: string): number | undefined {
  if (id.charCodeAt(0) !== 119 /* w */) return undefined;
  const dot = id.indexOf('.');
  if (dot < 2 || dot > 5) return undefined;
  const n = Number(id.slice(1, dot));
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}
