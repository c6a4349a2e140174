import { randomBytes } from 'node:crypto';
import { GENERATED_KEY_ENV, readPeerSettings, readSessionKeys, SESSION_KEY_ENV, WORKER_INDEX_ENV } from '../replica/index.ts';
import cluster, { type Worker } from 'node:cluster';
import { rmSync } from 'node:fs';
import { AdminObserver, startAdminServer, startReadinessServer, type AdminServer } from '../admin/index.ts';
import { loadConfig, type LoadedConfig } from '../config/index.ts';
import { ErrorCodes, GatewayError, type ErrorCode } from '../errors.ts';
import type { BackendDefinition } from '../backends/types.ts';
import type { PolicyDefinition } from '../pipeline/index.ts';
import { watchFiles, type FileWatcher } from '../reload/index.ts';
import { type Logger, publish, reloadChannel } from '../telemetry/index.ts';
import type { ReloadResult } from '../server/index.ts';
import { checkAddressesFree } from '../server/port-check.ts';
import { plannedAddresses } from '../server/start.ts';
import { startStatsServer, type StatsServer } from '../telemetry/stats.ts';
import { VERSION } from '../telemetry/telemetry.ts';
import { handoffDir } from './handoff.ts';
import { ClusterMetrics, SCRAPE_TIMEOUT_MS, type ScrapeTarget } from './metrics.ts';
import { WorkerLedger } from './observed.ts';
import { isWorkerMessage, type SupervisorMessage, type WorkerMessage } from './protocol.ts';

export interface SupervisorOptions {
  configFile: string;
  policies: readonly PolicyDefinition[];
  backends: readonly BackendDefinition<any>[];
  loaded: LoadedConfig;
  logger: Logger;
  /** Reload every worker when the config or a file it uses changes. @default true */
  watch?: boolean;
  /** How long a worker may take to build a reloaded runtime before the reload is abandoned. @default 120000 */
  reloadTimeoutMs?: number;
  /** How long a scrape waits for a worker's metrics before leaving that worker out. @default 2000 */
  scrapeTimeoutMs?: number;
  /** Applied to every config loaded, the first and each reload's (the CLI's address flags). */
  transform?: (loaded: LoadedConfig) => LoadedConfig;
}

export interface RunningSupervisor {
  readonly logger: Logger;
  readonly drainTimeoutMs: number;
  readonly admin?: AdminServer;
  readonly readiness?: AdminServer;
  /** The stats server's port, when it runs (useful with port 0). */
  readonly statsPort?: number;
  /** The process id of each worker serving now, by worker index. */
  pids(): number[];
  /** Reloads every worker: all swap to the new config, or none does and the error is reported once. */
  reload(changed?: readonly string[]): Promise<ReloadResult>;
  /** Drains every worker, then stops the admin servers. */
  close(): Promise<void>;
}

interface Slot {
  index: number;
  worker: Worker;
  ready: boolean;
  files: readonly string[];
  handoff?: string;
  /** What this worker's admin lines left open (processes, sessions), closed in the admin view if it dies. */
  ledger: WorkerLedger;
  /** Waiters for the next message of this worker that matches. */
  waiters: Array<(m: WorkerMessage | undefined) => boolean>;
}

/**
 * The supervisor of `workers: n` (n > 1): forks n worker processes that serve every bind on the same ports, each
 * with its own runtime; runs the admin, readiness and stats servers and the file watcher for all of them (the
 * stats address sums the workers' metrics on each scrape, metrics.ts; the admin server shows what the workers'
 * observers forward, observed.ts); restarts a worker that dies; reloads all workers in two phases (each builds and
 * reports, then all swap or all roll back); drains them all on shutdown. It serves no traffic itself.
 */
export async function startSupervisor(options: SupervisorOptions): Promise<RunningSupervisor> {
  const { logger } = options;
  let loaded = options.loaded;
  const count = loaded.config.workers;
  const slots: Slot[] = [];
  let draining = false;
  let starting = true;
  const reloadTimeoutMs = options.reloadTimeoutMs ?? 120_000;
  const scrapeTimeoutMs = options.scrapeTimeoutMs ?? SCRAPE_TIMEOUT_MS;
  // Like one process, a busy admin, readiness or stats address stops the start before any worker opens a port.
  await checkAddressesFree(plannedAddresses(loaded));
  // Every worker opens every other's session ids: one key for all of them (the operator's, or one made here).
  const keyEnv = workerKeyEnv();
  const metrics = new ClusterMetrics(count, VERSION, logger);
  const observer = loaded.config.admin.address === false ? undefined : new AdminObserver(undefined, { settleMs: 100 });

  const broadcast = (m: SupervisorMessage, to: readonly Slot[] = slots) => {
    for (const s of to) if (s.worker.isConnected()) s.worker.send(m);
  };
  const sendPeers = () => {
    const handoff: Record<number, string> = {};
    for (const s of slots) if (s.handoff) handoff[s.index] = s.handoff;
    broadcast({ pcl: 'peers', handoff });
  };
  /** The next message of `slot` that `match` accepts; undefined when the worker exits or the time is up. */
  const awaitMessage = <T extends WorkerMessage>(slot: Slot, match: (m: WorkerMessage) => m is T, timeoutMs: number): Promise<T | undefined> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        slot.waiters = slot.waiters.filter((w) => w !== waiter);
        resolve(undefined);
      }, timeoutMs);
      const waiter = (m: WorkerMessage | undefined) => {
        if (m !== undefined && !match(m)) return false;
        clearTimeout(timer);
        resolve(m as T | undefined);
        return true;
      };
      slot.waiters.push(waiter);
    });

  let startupFailure: ((err: Error) => void) | undefined;
  const fork = (index: number): Slot => {
    const worker = cluster.fork({ [WORKER_INDEX_ENV]: String(index), ...keyEnv });
    const slot: Slot = { index, worker, ready: false, files: [], ledger: new WorkerLedger(), waiters: [] };
    slots[index] = slot;
    // A worker that died mid-send: its 'exit' handles it; the channel error must not stop the supervisor.
    worker.on('error', (err) => logger.debug({ err: err.message, worker: index }, 'worker channel error'));
    worker.on('message', (m: unknown) => {
      if (!isWorkerMessage(m)) return;
      if (m.pcl === 'observed') {
        observer?.ingest(m.items);
        slot.ledger.record(m.items);
        metrics.dropped(m.dropped);
        return;
      }
      if (m.pcl === 'ready') {
        slot.ready = true;
        slot.files = m.files;
        slot.handoff = m.handoff;
        watcher?.setFiles(watched());
        if (!starting) sendPeers();
      }
      slot.waiters = slot.waiters.filter((w) => !w(m));
    });
    worker.on('exit', (code, signal) => {
      slot.ready = false;
      observer?.ingest(slot.ledger.closeAll());
      for (const w of slot.waiters.splice(0)) w(undefined);
      if (draining || slots[index] !== slot) return;
      if (starting) {
        startupFailure?.(new GatewayError(ErrorCodes.INTERNAL, `worker ${index} exited during startup (${signal ?? `code ${code}`}); its error is above`));
        return;
      }
      logger.error({ worker: index, pid: worker.process.pid, code, signal }, 'worker exited: starting another');
      metrics.restarted(index);
      setTimeout(() => {
        if (!draining) fork(index);
      }, 200).unref();
    });
    return slot;
  };

  const watched = () => [...new Set([...loaded.files, ...slots.flatMap((s) => s?.files ?? [])])];
  let watcher: FileWatcher | undefined;

  for (let i = 0; i < count; i++) fork(i);
  try {
    await new Promise<void>((resolve, reject) => {
      const check = setInterval(() => {
        if (slots.every((s) => s.ready)) {
          clearInterval(check);
          resolve();
        }
      }, 20);
      startupFailure = (err) => {
        clearInterval(check);
        reject(err);
      };
    });
  } catch (err) {
    draining = true;
    await stopAll(slots, 5_000);
    observer?.close();
    metrics.close();
    throw err;
  }
  starting = false;
  sendPeers();

  let scrapeId = 0;
  /** Every worker serving now, asked for its registry (one scrape). */
  const scrapeTargets = (): ScrapeTarget[] => {
    const id = ++scrapeId;
    return slots
      .filter((s) => s.ready && s.worker.isConnected())
      .map((s) => ({
        index: s.index,
        ask: async (timeoutMs) => {
          const answer = awaitMessage(s, (m): m is Extract<WorkerMessage, { pcl: 'metrics' }> => m.pcl === 'metrics' && m.id === id, timeoutMs);
          s.worker.send({ pcl: 'metrics', id } satisfies SupervisorMessage);
          const got = await answer;
          if (got) return got.metrics;
          return s.ready ? 'timeout' : 'exited';
        },
      }));
  };
  const collect = () => metrics.collect(scrapeTargets(), scrapeTimeoutMs);

  let stats: StatsServer | undefined;
  let statsAddress: string | false = false;
  /** Opens, moves or closes the stats server as the config says (at start, and after each reload). */
  const applyStats = async () => {
    const address = loaded.config.telemetry.stats.address;
    if (address === statsAddress) return;
    await stats?.close();
    stats = undefined;
    statsAddress = address;
    if (address === false) return;
    try {
      stats = await startStatsServer(address, collect, logger);
    } catch (err) {
      statsAddress = false;
      throw new GatewayError(ErrorCodes.BIND_FAILED, `stats.address: cannot listen on ${address}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
    }
  };

  const source = { config: () => loaded.config, isReady: () => !draining && slots.every((s) => s.ready), configFile: options.configFile };
  const servers: AdminServer[] = [];
  let admin: AdminServer | undefined;
  let readiness: AdminServer | undefined;
  try {
    if (loaded.config.admin.address !== false) servers.push((admin = await startAdminServer(loaded.config.admin.address, source, logger, { observer, prometheus: collect })));
    if (loaded.config.readiness.address !== false) servers.push((readiness = await startReadinessServer(loaded.config.readiness.address, source, logger)));
    await applyStats();
  } catch (err) {
    draining = true;
    await Promise.all(servers.map((s) => s.close()));
    await stopAll(slots, loaded.config.shutdown.drainTimeoutMs);
    observer?.close();
    metrics.close();
    throw err;
  }
  logger.info({ workers: count, pids: slots.map((s) => s.worker.process.pid) }, 'workers serving');

  let reloadId = 0;
  let reloading: Promise<ReloadResult> = Promise.resolve({ ok: true });

  const reloadOnce = async (changed?: readonly string[]): Promise<ReloadResult> => {
    const startedAt = performance.now();
    const id = ++reloadId;
    const fail = (err: Error): ReloadResult => {
      const code = (err as GatewayError).code as string | undefined;
      logger.error({ err: err.message, code }, 'reload failed: still serving the previous config');
      publish(reloadChannel, () => ({ ok: false, durationMs: performance.now() - startedAt, errorCode: code ?? ErrorCodes.INTERNAL, message: err.message, files: changed }));
      return { ok: false, error: err };
    };
    if (draining) return fail(new GatewayError(ErrorCodes.SHUTTING_DOWN, 'shutting down'));
    // The config is checked here first: a config that does not load is reported without waking the workers.
    let next: LoadedConfig;
    try {
      next = await loadConfig(options.configFile, options.policies, options.backends);
      if (options.transform) next = options.transform(next);
    } catch (err) {
      return fail(err as Error);
    }
    const taking = slots.slice();
    const answers = await Promise.all(
      taking.map((s) => {
        const answer = awaitMessage(s, (m): m is Extract<WorkerMessage, { pcl: 'prepared' | 'failed' }> => (m.pcl === 'prepared' || m.pcl === 'failed') && m.id === id, reloadTimeoutMs);
        s.worker.send({ pcl: 'reload', id, changed } satisfies SupervisorMessage);
        return answer;
      }),
    );
    const prepared = taking.filter((_, i) => answers[i]?.pcl === 'prepared');
    const done = prepared.map((s) => awaitMessage(s, (m): m is Extract<WorkerMessage, { pcl: 'reloaded' }> => m.pcl === 'reloaded' && m.id === id, reloadTimeoutMs));
    const failedAt = answers.findIndex((a) => a?.pcl !== 'prepared');
    if (failedAt !== -1) {
      const answer = answers[failedAt];
      // Every worker builds the same config: the first failure stands for all of them, and is reported once.
      const reason =
        answer?.pcl === 'failed'
          ? new GatewayError((answer.code ?? ErrorCodes.CONFIG_INVALID) as ErrorCode, answer.message)
          : new GatewayError(ErrorCodes.INTERNAL, `worker ${taking[failedAt].index} did not answer the reload within ${reloadTimeoutMs} ms (or exited)`);
      broadcast({ pcl: 'abort', id, reason: reason.message }, prepared);
      await Promise.all(done);
      return fail(reason);
    }
    broadcast({ pcl: 'commit', id }, prepared);
    await Promise.all(done);
    loaded = next;
    watcher?.setFiles(watched());
    await applyStats().catch((err: GatewayError) => logger.error({ err: err.message, code: err.code }, 'reload: telemetry settings not applied'));
    publish(reloadChannel, () => ({ ok: true, durationMs: performance.now() - startedAt, files: changed }));
    logger.info({ workers: taking.length }, 'reloaded every worker');
    return { ok: true };
  };
  const reload = (changed?: readonly string[]) => (reloading = reloading.then(() => reloadOnce(changed)));

  if (options.watch ?? true) {
    watcher = watchFiles(watched(), (changed) => {
      logger.info({ changed }, 'config change detected');
      void reload(changed);
    });
  }

  return {
    logger,
    admin,
    readiness,
    get statsPort() {
      return stats?.port;
    },
    get drainTimeoutMs() {
      return loaded.config.shutdown.drainTimeoutMs;
    },
    pids: () => slots.map((s) => s.worker.process.pid ?? 0),
    reload,
    async close() {
      if (draining) return;
      draining = true;
      await watcher?.close();
      await reloading.catch(() => {});
      await stopAll(slots, loaded.config.shutdown.drainTimeoutMs);
      await stats?.close();
      await Promise.all(servers.map((s) => s.close()));
      observer?.close();
      metrics.close();
      rmSync(handoffDir(process.pid), { recursive: true, force: true });
    },
  };
}

/**
 * The session-key variables the workers get: none when the operator set a key (they read it themselves), else a
 * key made for this start, marked as not shared beyond this supervisor. Checks the operator's settings first, so a
 * bad key fails the start here, once.
 */
function workerKeyEnv(): Record<string, string> {
  readSessionKeys();
  readPeerSettings();
  if (process.env[SESSION_KEY_ENV.key] || process.env[SESSION_KEY_ENV.keyFile]) return {};
  return { [SESSION_KEY_ENV.key]: randomBytes(32).toString('base64'), [GENERATED_KEY_ENV]: '1' };
}

/** Tells every worker to drain and waits for all to exit; a worker still running after the deadline is killed. */
async function stopAll(slots: readonly Slot[], drainTimeoutMs: number): Promise<void> {
  await Promise.all(
    slots.map(
      (s) =>
        new Promise<void>((resolve) => {
          const w = s.worker;
          if (w.process.exitCode !== null || w.process.signalCode !== null) return resolve();
          const kill = setTimeout(() => w.process.kill('SIGKILL'), drainTimeoutMs + 5_000);
          w.process.once('exit', () => {
            clearTimeout(kill);
            resolve();
          });
          if (w.isConnected()) w.send({ pcl: 'shutdown' } satisfies SupervisorMessage);
          else w.process.kill('SIGTERM');
        }),
    ),
  );
}
