import { AdminObserver } from '../admin/index.ts';
import { loadConfig } from '../config/index.ts';
import { ErrorCodes, GatewayError } from '../errors.ts';
import { startPortcullis, type RunningGateway, type StartOptions } from '../server/index.ts';
import { SessionHandoff } from './handoff.ts';
import { ObservedForwarder } from './observed.ts';
import { isSupervisorMessage, type WorkerMessage } from './protocol.ts';

/**
 * How a worker's binds listen. Where the kernel balances connections itself (SO_REUSEPORT: Linux, FreeBSD), each
 * worker opens its own socket on the port and accepts on it, with no process in between; elsewhere node's cluster
 * shares one socket that the supervisor accepts on and hands out round-robin. Port 0 always takes the shared
 * socket, so that every worker ends up on the same port.
 */
export function workerListenOptions(platform: NodeJS.Platform = process.platform): { reusePort?: boolean; exclusive?: boolean } {
  return platform === 'linux' || platform === 'freebsd' ? { reusePort: true, exclusive: true } : {};
}

export interface RunningWorker {
  readonly running: RunningGateway;
  readonly index: number;
  readonly handoff: SessionHandoff;
}

/**
 * One worker process: the gateway as `start` runs it, minus what the supervisor does for every worker (admin,
 * readiness, file watching, the stats address); reloads arrive from the supervisor in two phases, scrapes ask for
 * its metrics, and a shutdown message drains it. With the admin server on, what its admin observer records goes
 * to the supervisor's (observed.ts).
 */
export async function startWorker(options: StartOptions, index: number): Promise<RunningWorker> {
  let loaded = options.loaded;
  if (!loaded) {
    loaded = await loadConfig(options.configFile, options.policies, options.backends);
    if (options.transform) loaded = options.transform(loaded);
  }
  const send = (m: WorkerMessage) => {
    if (process.connected) process.send!(m);
  };
  // Created before the gateway starts, like the admin server's own observer, so that the warm pool's first
  // processes are seen. The admin address is read at start (a reload does not move the supervisor's server).
  const forwarder =
    loaded.config.admin.address === false
      ? undefined
      : new ObservedForwarder((m, done) => {
          if (process.connected) process.send!(m, undefined, undefined, done);
          else done(new Error('the channel to the supervisor is closed'));
        });
  const observer = forwarder && new AdminObserver(undefined, { forward: forwarder.push });
  const handoff = new SessionHandoff(index);
  let running: RunningGateway;
  let handoffPath: string;
  try {
    handoffPath = await handoff.listen();
    running = await startPortcullis({ ...options, loaded, watch: false, worker: { listen: workerListenOptions(), quietReloadFailures: true, handoff } });
  } catch (err) {
    forwarder?.close();
    observer?.close();
    await handoff.close();
    throw err;
  }
  const decisions = new Map<number, { commit: () => void; abort: (err: Error) => void }>();
  let stopping = false;
  process.on('message', (m: unknown) => {
    if (!isSupervisorMessage(m)) return;
    switch (m.pcl) {
      case 'reload': {
        let prepared = false;
        const gate = () =>
          new Promise<void>((commit, abort) => {
            prepared = true;
            decisions.set(m.id, { commit, abort });
            send({ pcl: 'prepared', id: m.id });
          });
        void running.gateway.reload(m.changed, gate).then((result) => {
          decisions.delete(m.id);
          if (prepared) send({ pcl: 'reloaded', id: m.id, ok: result.ok, files: running.gateway.files });
          else send({ pcl: 'failed', id: m.id, message: result.error?.message ?? 'reload failed', code: (result.error as GatewayError | undefined)?.code });
        });
        return;
      }
      case 'commit':
        decisions.get(m.id)?.commit();
        return;
      case 'abort':
        decisions.get(m.id)?.abort(new GatewayError(ErrorCodes.CONFIG_INVALID, `reload abandoned: another worker could not build it: ${m.reason}`));
        return;
      case 'peers':
        handoff.setPeers(m.handoff);
        return;
      case 'metrics': {
        // No answer on failure: the supervisor leaves this worker out of the scrape after its timeout.
        const registry = running.telemetry.registry;
        void (registry ? registry.getMetricsAsJSON() : Promise.resolve([])).then(
          (metrics) => send({ pcl: 'metrics', id: m.id, metrics }),
          (err) => running.logger.error({ err: (err as Error).message }, 'stats: could not read this worker\'s metrics'),
        );
        return;
      }
      case 'shutdown':
        if (stopping) return;
        stopping = true;
        void running.close().then(async () => {
          forwarder?.close();
          observer?.close();
          await handoff.close();
          running.logger.flush();
          process.exit(0);
        });
        return;
    }
  });
  send({ pcl: 'ready', files: running.gateway.files, handoff: handoffPath });
  return { running, index, handoff };
}
