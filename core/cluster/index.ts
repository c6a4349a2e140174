import { loadConfig } from '../config/index.ts';
import { startPortcullis, type StartOptions } from '../server/index.ts';
import { createLogger, type Logger } from '../telemetry/index.ts';
import { workerIndex } from '../replica/index.ts';
import { startSupervisor } from './supervisor.ts';
import { startWorker } from './worker.ts';

export { startSupervisor, type RunningSupervisor, type SupervisorOptions } from './supervisor.ts';
export { startWorker, workerListenOptions } from './worker.ts';
export { createPeerChannel } from './peer-setup.ts';
export { ownedSessionId, ownerOfSessionId, WORKER_INDEX_ENV, workerIndex } from '../replica/index.ts';

/** What the CLI needs of a running gateway, whether it is one process or a supervisor of workers. */
export interface RunningEntry {
  readonly logger: Logger;
  readonly drainTimeoutMs: number;
  close(): Promise<void>;
}


/**
 * Starts the gateway as its config asks: in this process when `workers` is 1, else as a supervisor of that many
 * worker processes. In a worker process (forked by the supervisor, which re-runs the same command) it starts the
 * worker's side.
 */
export async function startGateway(options: StartOptions): Promise<RunningEntry> {
  const index = workerIndex();
  if (index !== undefined) {
    const { running } = await startWorker(options, index);
    return entryOf(running.logger, () => running.gateway.config.shutdown.drainTimeoutMs, () => running.close());
  }
  let loaded = await loadConfig(options.configFile, options.policies, options.backends);
  if (options.transform) loaded = options.transform(loaded);
  if (loaded.config.workers <= 1) {
    const running = await startPortcullis({ ...options, loaded });
    return entryOf(running.logger, () => running.gateway.config.shutdown.drainTimeoutMs, () => running.close());
  }
  const logger =
    options.logger ??
    createLogger({ level: options.logLevel ?? loaded.config.logging.level, format: options.logFormat ?? loaded.config.logging.format });
  const supervisor = await startSupervisor({ configFile: options.configFile, policies: options.policies, backends: options.backends, loaded, logger, watch: options.watch, transform: options.transform });
  return entryOf(logger, () => supervisor.drainTimeoutMs, () => supervisor.close());
}

function entryOf(logger: Logger, drainTimeoutMs: () => number, close: () => Promise<void>): RunningEntry {
  return {
    logger,
    get drainTimeoutMs() {
      return drainTimeoutMs();
    },
    close,
  };
}
