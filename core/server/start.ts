import { startAdminServer, startReadinessServer, type AdminServer } from '../admin/index.ts';
import type { LoadedConfig } from '../config/load.ts';
import type { PolicyDefinition } from '../pipeline/types.ts';
import { watchFiles, type FileWatcher } from '../reload/watcher.ts';
import { createLogger, type Logger } from '../telemetry/logger.ts';
import { Gateway, type ReloadResult } from './gateway.ts';

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
}

export interface RunningGateway {
  readonly gateway: Gateway;
  readonly admin?: AdminServer;
  readonly readiness?: AdminServer;
  readonly logger: Logger;
  reload(): Promise<ReloadResult>;
  close(): Promise<void>;
}

/** Starts the data plane, the admin and readiness servers and the file watcher. */
export async function startPortcullis(options: StartOptions): Promise<RunningGateway> {
  // The config names its own log settings, but it must be loaded before we know them: a bootstrap logger
  // reports load errors, then the configured one takes over.
  const logger = options.logger ?? createLogger({ level: options.logLevel ?? 'info', format: options.logFormat });
  const gateway = new Gateway({ configFile: options.configFile, policies: options.policies, logger, transform: options.transform });
  await gateway.start();
  if (!options.logger && !options.logLevel) logger.level = gateway.config.logging.level;
  const source = { config: () => gateway.config, isReady: () => gateway.isReady };
  const servers: AdminServer[] = [];
  let admin: AdminServer | undefined;
  let readiness: AdminServer | undefined;
  try {
    if (gateway.config.admin.address !== false) servers.push((admin = await startAdminServer(gateway.config.admin.address, source, logger)));
    if (gateway.config.readiness.address !== false) servers.push((readiness = await startReadinessServer(gateway.config.readiness.address, source, logger)));
  } catch (err) {
    await Promise.all(servers.map((s) => s.close()));
    await gateway.close();
    throw err;
  }
  let watcher: FileWatcher | undefined;
  const reload = async () => {
    const result = await gateway.reload();
    watcher?.setFiles(gateway.files);
    return result;
  };
  if (options.watch ?? true) {
    watcher = watchFiles(gateway.files, (changed) => {
      logger.info({ changed }, 'config change detected');
      void reload();
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
