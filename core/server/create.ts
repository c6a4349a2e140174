import { resolve } from 'node:path';
import type { GatewayConfig } from '../../sdk-types/config.ts';
import type { CreateGatewayOptions, PortcullisGateway } from '../../sdk-types/gateway.ts';
import { AdminObserver, startAdminServer, startReadinessServer, type AdminServer } from '../admin/index.ts';
import { loadConfig, loadConfigObject, type LoadedConfig } from '../config/index.ts';
import type { BackendDefinition } from '../backends/types.ts';
import type { PolicyDefinition } from '../pipeline/index.ts';
import { watchFiles, type FileWatcher } from '../reload/index.ts';
import { createLogger, type Logger, type TelemetryConfigView } from '../telemetry/index.ts';
import { Telemetry } from '../telemetry/telemetry.ts';
import type { PeerListener } from './exchange.ts';
import { Gateway, type GatewayOptions, type ReloadResult } from './gateway.ts';
import { checkAddressesFree, type PlannedAddress } from './port-check.ts';

/** What the composition root hands in besides the config. */
export interface GatewayParts extends CreateGatewayOptions {
  policies: readonly PolicyDefinition[];
  /** The backend kinds, checked by `backendKinds` (the composition root lists the built-in ones). */
  backends: readonly BackendDefinition<any>[];
  /** A logger of the caller's (tests, the `dev` command); else one from the config's `logging`. */
  logger?: Logger;
  /** Changes applied to the loaded config before it is served (tests move ports to 0; CLI address flags). */
  transform?: (loaded: LoadedConfig) => LoadedConfig;
  /** A config already loaded from the source (the cluster entry reads it to count workers). */
  loaded?: LoadedConfig;
  /** Set in a worker process (core/cluster): no admin or readiness server (the supervisor runs them). */
  worker?: GatewayOptions['worker'];
  /**
   * Makes the channel to other replicas (core/cluster's `createPeerChannel`, handed in by the composition root),
   * called before anything starts so that a bad session key or peer address fails the start; it returns undefined
   * when ids are this process's only. Absent: no peer channel.
   */
  peers?: () => PeerListener | undefined;
}

/** A gateway with its parts exposed to the core (the CLI, workers, tests): `createGateway`'s result and more. */
export interface CreatedGateway extends PortcullisGateway {
  readonly gateway: Gateway;
  readonly logger: Logger;
  /** Metrics, traces, Langfuse, the audit log and plugged-in sinks of this gateway. */
  readonly telemetry: Telemetry;
  readonly admin?: AdminServer;
  readonly readiness?: AdminServer;
  reload(config?: GatewayConfig, changed?: readonly string[]): Promise<ReloadResult>;
}

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

/**
 * The one way a gateway starts: load and validate the config, build the runtime (policies, backends, sinks)
 * without opening a socket, answer in process through `handle`; `listen` then opens the binds, the peer channel,
 * the admin, readiness and stats servers and the file watcher. The CLI, the workers and the tests all come here.
 */
export async function createGatewayWith(source: GatewayConfig | string, parts: GatewayParts): Promise<CreatedGateway> {
  const configFile = typeof source === 'string' ? resolve(source) : undefined;
  let inline = typeof source === 'string' ? undefined : source;
  const baseDir = parts.baseDir ?? process.cwd();
  const load = async (): Promise<LoadedConfig> => {
    let loaded = inline ? loadConfigObject(inline, parts.policies, parts.backends, baseDir) : await loadConfig(configFile!, parts.policies, parts.backends);
    if (parts.transform) loaded = parts.transform(loaded);
    return loaded;
  };
  // The config names its own log settings, so it is loaded once before the logger exists; the gateway then
  // starts from that same load. Options (the `dev` command, --log-level) win over the file.
  const initial = parts.loaded ?? (await load());
  // Session keys and the peer address are read (and checked) before anything starts: a bad one fails the start.
  const peers = parts.peers?.();
  const logger = parts.logger ?? createLogger({ level: parts.logLevel ?? initial.config.logging.level, format: parts.logFormat ?? initial.config.logging.format });
  const gateway = new Gateway({
    configFile: configFile ?? resolve(baseDir, '(config object)'),
    load: inline ? load : undefined,
    policies: parts.policies,
    backends: parts.backends,
    logger,
    transform: inline ? undefined : parts.transform,
    worker: parts.worker,
    peers,
  });
  // The admin UI's event subscriber starts before the runtime, so it sees the warm pool's first processes.
  const observer = parts.worker || initial.config.admin.address === false ? undefined : new AdminObserver(gateway.id);
  try {
    await gateway.start(initial, { listen: false });
  } catch (err) {
    observer?.close();
    throw err;
  }
  let telemetry!: Telemetry;
  try {
    // Telemetry sits below core/config and reads the resolved config through its own narrow view (core/telemetry/view.ts).
    telemetry = await Telemetry.start(gateway.config satisfies TelemetryConfigView, { logger, gateway: gateway.id, policies: parts.policies, ports: () => gateway.ports(), serveStats: false });
  } catch (err) {
    observer?.close();
    await gateway.close();
    throw err;
  }
  const servers: AdminServer[] = [];
  let watcher: FileWatcher | undefined;
  let listening: Promise<{ ports: readonly number[] }> | undefined;
  let closed = false;

  const reload = async (config?: GatewayConfig, changed?: readonly string[]): Promise<ReloadResult> => {
    if (config) {
      if (!inline) return { ok: false, error: new TypeError('reload(config): this gateway was created from a file; reload() reads the file again') };
      inline = config;
    }
    const result = await gateway.reload(changed);
    // Telemetry follows the served config; its exporters are flushed either way.
    if (result.ok) await telemetry.reload(gateway.config).catch((err) => logger.error({ err: (err as Error).message, code: (err as { code?: string }).code }, 'reload: telemetry settings not applied'));
    else await telemetry.flush();
    watcher?.setFiles(gateway.files);
    return result;
  };

  const listen = async (): Promise<{ ports: readonly number[] }> => {
    // A worker's admin and readiness are its supervisor's, which checked them.
    if (!parts.worker) await checkAddressesFree(plannedAddresses({ config: gateway.config, files: [] }));
    await gateway.openBinds();
    const peerPort = await peers?.listen();
    if (peerPort !== undefined) logger.info({ peerAddress: peers!.settings.address, port: peerPort }, 'listening for peer replicas');
    // The stats server is served only once the gateway listens (a worker of `workers: n` never serves it).
    if (!parts.worker) await telemetry.serveStats();
    const config = gateway.config;
    const source = { config: () => gateway.config, isReady: () => gateway.isReady, ports: () => gateway.ports(), configFile, credentialLinks: () => gateway.credentialLinks() };
    if (config.admin.address !== false && observer) {
      const admin = await startAdminServer(config.admin.address, source, logger, { observer, prometheus: () => telemetry.registry });
      servers.push(admin);
      (created as { admin?: AdminServer }).admin = admin;
    } else observer?.close();
    if (config.readiness.address !== false && !parts.worker) {
      const readiness = await startReadinessServer(config.readiness.address, source, logger);
      servers.push(readiness);
      (created as { readiness?: AdminServer }).readiness = readiness;
    }
    if (parts.watch) {
      watcher = watchFiles(gateway.files, (changed) => {
        logger.info({ changed }, 'config change detected');
        void reload(undefined, changed);
      });
    }
    return { ports: gateway.ports() };
  };

  const created: CreatedGateway = {
    gateway,
    logger,
    telemetry,
    admin: undefined,
    readiness: undefined,
    handle: (request, options) => gateway.handle(request, options),
    listen() {
      if (closed) return Promise.reject(new Error('listen: the gateway is closed'));
      listening ??= listen();
      return listening;
    },
    reload,
    async close() {
      if (closed) return;
      closed = true;
      await listening?.catch(() => undefined);
      await watcher?.close();
      await gateway.close();
      await peers?.close();
      await telemetry.close();
      await Promise.all(servers.map((s) => s.close()));
      observer?.close();
    },
  };
  return created;
}
