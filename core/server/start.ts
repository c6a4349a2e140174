import { AdminObserver, startAdminServer, startReadinessServer, type AdminServer } from '../admin/index.ts';
import { loadConfig, type LoadedConfig } from '../config/load.ts';
import type { PolicyDefinition } from '../pipeline/types.ts';
import { watchFiles, type FileWatcher } from '../reload/watcher.ts';
import { createLogger, type Logger } from '../telemetry/logger.ts';
import { Telemetry } from '../telemetry/telemetry.ts';
import { Gateway, type GatewayOptions, type ReloadResult } from './gateway.ts';
import { createPeerChannel, type PeerChannel } from '../cluster/peer-setup.ts';
import { checkAddressesFree, type PlannedAddress } from './port-check.ts';

/** Every address a config opens (admin, readiness, stats, then the data binds), checked before any of them opens. */
export function plannedAddresses(loaded: LoadedConfig): PlannedAddress[] {
  const out: PlannedAddress[] = [];
  if (loaded.config.admin.address !== false) out.push({ address: loaded.config.admin.address, setting: 'admin.address', flag: '--admin' });
  if (loaded.config.readiness.address !== false) out.push({ address: loaded.config.readiness.address, setting: 'readiness.address', flag: '--readiness' });
  const stats = loaded.config.telemetry.stats.address;
  if (stats !== false) out.push({ address: stats, setting: 'stats.address', flag: '--stats' });
  loaded.config.binds.forEach((bind, i) => {
    const host = bind.address.includes(':') ? `[${bind.address}]` : bind.address;
    out.push({ address: `${host}:${bind.port}`, setting: `binds[${i}].port` });
  });
  return out;
}

export interface StartOptions {
  configFile: string;
  policies: readonly PolicyDefinition[];
  /** Reload when the config or a file it depends on changes. @default true */
  watch?: boolean;
  /** Overrides the config's logging (the `dev` command, tests). */
  logger?: Logger;
  logLevel?: string;
  logFormat?: 'json' | 'pretty';
  transform?: (loaded: LoadedConfig) => LoadedConfig;
  /** A config already loaded from `configFile` (the cluster entry reads it to count workers). */
  loaded?: LoadedConfig;
  /** Set in a worker process (core/cluster): no admin or readiness server (the supervisor runs them). */
  worker?: GatewayOptions['worker'];
}

export interface RunningGateway {
  readonly gateway: Gateway;
  readonly admin?: AdminServer;
  readonly readiness?: AdminServer;
  readonly logger: Logger;
  /** Metrics, traces, Langfuse and the audit log of this gateway. */
  readonly telemetry: Telemetry;
  reload(changed?: readonly string[]): Promise<ReloadResult>;
  close(): Promise<void>;
}

/** Starts the data plane, the admin and readiness servers and the file watcher. */
export async function startPortcullis(options: StartOptions): Promise<RunningGateway> {
  // The config names its own log settings, so it is loaded once before the logger exists; the gateway then
  // starts from that same load. Flags (the `dev` command, --log-level) win over the file.
  let initial: LoadedConfig | undefined = options.loaded;
  if (!initial) {
    initial = await loadConfig(options.configFile, options.policies);
    if (options.transform) initial = options.transform(initial);
  }
  // A worker's admin and readiness are its supervisor's, which checked them.
  if (!options.worker) await checkAddressesFree(plannedAddresses(initial));
  // Session keys and the peer address are read (and checked) before anything opens: a bad one fails the start.
  const peers = createPeerChannel();
  let logger = options.logger;
  if (!logger) {
    logger = createLogger({
      level: options.logLevel ?? initial.config.logging.level,
      format: options.logFormat ?? initial.config.logging.format,
    });
  }
  const gateway = new Gateway({ configFile: options.configFile, policies: options.policies, logger, transform: options.transform, worker: options.worker, peers });
  // The admin UI's event subscriber starts before the gateway, so it sees the warm pool's first processes.
  const observer = options.worker || initial.config.admin.address === false ? undefined : new AdminObserver(gateway.id);
  try {
    await gateway.start(initial);
  } catch (err) {
    observer?.close();
    throw err;
  }
  try {
    const peerPort = await peers?.listen();
    if (peerPort !== undefined) logger.info({ peerAddress: peers!.settings.address, port: peerPort }, 'listening for peer replicas');
  } catch (err) {
    observer?.close();
    await gateway.close();
    throw err;
  }
  let telemetry: Telemetry;
  try {
    telemetry = await Telemetry.start(gateway.config, { logger, gateway: gateway.id, policies: options.policies, ports: () => gateway.ports(), serveStats: !options.worker });
  } catch (err) {
    observer?.close();
    await gateway.close();
    throw err;
  }
  const source = { config: () => gateway.config, isReady: () => gateway.isReady, ports: () => gateway.ports(), configFile: options.configFile, credentialLinks: () => gateway.credentialLinks() };
  const servers: AdminServer[] = [];
  let admin: AdminServer | undefined;
  let readiness: AdminServer | undefined;
  try {
    if (gateway.config.admin.address !== false && observer) servers.push((admin = await startAdminServer(gateway.config.admin.address, source, logger, { observer, prometheus: () => telemetry.registry })));
    else observer?.close();
    if (gateway.config.readiness.address !== false && !options.worker) servers.push((readiness = await startReadinessServer(gateway.config.readiness.address, source, logger)));
  } catch (err) {
    observer?.close();
    await Promise.all(servers.map((s) => s.close()));
    await gateway.close();
    await telemetry.close();
    throw err;
  }
  let watcher: FileWatcher | undefined;
  const reload = async (changed?: readonly string[]) => {
    const result = await gateway.reload(changed);
    // Telemetry follows the served config; its exporters are flushed either way.
    if (result.ok) await telemetry.reload(gateway.config).catch((err) => logger.error({ err: (err as Error).message, code: (err as { code?: string }).code }, 'reload: telemetry settings not applied'));
    else await telemetry.flush();
    watcher?.setFiles(gateway.files);
    return result;
  };
  if (options.watch ?? true) {
    watcher = watchFiles(gateway.files, (changed) => {
      logger.info({ changed }, 'config change detected');
      void reload(changed);
    });
  }
  return {
    gateway,
    admin,
    readiness,
    logger,
    telemetry,
    reload,
    async close() {
      await watcher?.close();
      await gateway.close();
      await peers?.close();
      await telemetry.close();
      await Promise.all(servers.map((s) => s.close()));
      observer?.close();
    },
  };
}
