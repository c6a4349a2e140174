/**
 * The messages between the supervisor and its workers, over the cluster IPC channel. Every message has a `pcl`
 * field so that the channel can carry other traffic (node's own cluster messages) beside it.
 */
import type { Registry } from 'prom-client';
import type { ObservedItem } from '../admin/index.ts';

/** One metric of a worker's registry, as prom-client's `getMetricsAsJSON` gives it. */
export type MetricJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>[number];

/** Worker → supervisor. */
export type WorkerMessage =
  /** The worker serves traffic; `files` are those its runtime depends on (the supervisor watches them). */
  | { pcl: 'ready'; files: readonly string[]; handoff?: string }
  /** Reload `id`: the next runtime is built and its binds are open; the worker waits for commit or abort. */
  | { pcl: 'prepared'; id: number }
  /** Reload `id` failed in this worker before it could be prepared. */
  | { pcl: 'failed'; id: number; message: string; code?: string }
  /** Reload `id` is over in this worker: swapped (`ok`) or rolled back. */
  | { pcl: 'reloaded'; id: number; ok: boolean; files: readonly string[] }
  /** The answer to scrape `id`: this worker's metrics registry (empty when the stats address is off). */
  | { pcl: 'metrics'; id: number; metrics: MetricJson[] }
  /** What the worker's admin observer recorded since the last batch; `dropped` counts items it had to drop. */
  | { pcl: 'observed'; items: ObservedItem[]; dropped: number };

/** Supervisor → worker. */
export type SupervisorMessage =
  | { pcl: 'reload'; id: number; changed?: readonly string[] }
  /** Every worker prepared reload `id`: swap. */
  | { pcl: 'commit'; id: number }
  /** Some worker could not prepare reload `id`: roll back. */
  | { pcl: 'abort'; id: number; reason: string }
  /** Where every worker's session handoff channel listens, by worker index (see handoff.ts). */
  | { pcl: 'peers'; handoff: Record<number, string> }
  /** Scrape `id`: send your metrics registry as JSON. */
  | { pcl: 'metrics'; id: number }
  /** Drain and exit. */
  | { pcl: 'shutdown' };

function isOurs(m: unknown): boolean {
  return typeof m === 'object' && m !== null && typeof (m as { pcl?: unknown }).pcl === 'string';
}

export function isWorkerMessage(m: unknown): m is WorkerMessage {
  return isOurs(m);
}

export function isSupervisorMessage(m: unknown): m is SupervisorMessage {
  return isOurs(m);
}
