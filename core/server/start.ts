import { startAdminServer, startReadinessServer, type AdminServer } from '../admin/index.ts';
import { loadConfig, type LoadedConfig } from '../config/load.ts';
import type { PolicyDefinition } from '../pipeline/types.ts';
import { watchFiles, type FileWatcher } from '../reload/watcher.ts';
import { createLogger, type Logger } from '../telemetry/logger.ts';
import { Gateway, type GatewayOptions, type ReloadResult } from './gateway.ts';

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
  reload(changed?: readonly string[]): Promise<ReloadResult>;
  close(): Promise<void>;
}

/** Starts the data plane, the admin and readiness servers and the file watcher. */
export async function startPortcullis(options: StartOptions): Promise<RunningGateway> {
  // The config names its own log settings, so it is loaded once before the logger exists; the gateway then
  // starts from that same load. Flags (the `dev` command, --log-level) win over the file.
  let initial: LoadedConfig | undefined = options.loaded;
  let logger = options.logger;
  if (!logger) {
    if (!initial) {
      initial = await loadConfig(options.configFile, options.policies);
      if (options.transform) initial = options.transform(initial);
    }
    logger = createLogger({
      level: options.logLevel ?? initial.config.logging.level,
      format: options.logFormat ?? initial.config.logging.format,
    });
  }
  const gateway = new Gateway({ configFile: options.configFile, policies: options.policies, logger, transform: options.transform, worker: options.worker });
  await gateway.start(initial);
  const source = { config: () => gateway.config, isReady: () => gateway.isReady };
  const servers: AdminServer[] = [];
  let admin: AdminServer | undefined;
  let readiness: AdminServer | undefined;
  try {
    if (gateway.config.admin.address !== false && !options.worker) servers.push((admin = await startAdminServer(gateway.config.admin.address, source, logger)));
    if (gateway.config.readiness.address !== false && !options.worker) servers.push((readiness = await startReadinessServer(gateway.config.readiness.address, source, logger)));
  } catch (err) {
    await Promise.all(servers.map((s) => s.close()));
    await gateway.close();
    throw err;
  }
  let watcher: FileWatcher | undefined;
  const reload = async (changed?: readonly string[]) => {
    const result = await gateway.reload(changed);
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
    reload,
    async close() {
      await watcher?.close();
      await gateway.close();
      await Promise.all(servers.map((s) => s.close()));
    },
  };
}
