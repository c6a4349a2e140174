import { startAdminServer, startReadinessServer, type AdminServer } from '../admin/index.ts';
import { loadConfig, type LoadedConfig } from '../config/load.ts';
import type { PolicyDefinition } from '../pipeline/types.ts';
import { watchFiles, type FileWatcher } from '../reload/watcher.ts';
import { createLogger, type Logger } from '../telemetry/logger.ts';
import { Telemetry } from '../telemetry/telemetry.ts';
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
  /** Metrics, traces, Langfuse and the audit log of this gateway. */
  readonly telemetry: Telemetry;
  reload(changed?: readonly string[]): Promise<ReloadResult>;
  close(): Promise<void>;
}

/** Starts the data plane, the admin and readiness servers and the file watcher. */
export async function startPortcullis(options: StartOptions): Promise<RunningGateway> {
  // The config names its own log settings, so it is loaded once before the logger exists; the gateway then
  // starts from that same load. Flags (the `dev` command, --log-level) win over the file.
  let initial: LoadedConfig | undefined;
  let logger = options.logger;
  if (!logger) {
    initial = await loadConfig(options.configFile, options.policies);
    if (options.transform) initial = options.transform(initial);
    logger = createLogger({
      level: options.logLevel ?? initial.config.logging.level,
      format: options.logFormat ?? initial.config.logging.format,
    });
  }
  const gateway = new Gateway({ configFile: options.configFile, policies: options.policies, logger, transform: options.transform });
  await gateway.start(initial);
  let telemetry: Telemetry;
  try {
    telemetry = await Telemetry.start(gateway.config, { logger, gateway: gateway.name, policies: options.policies, ports: () => gateway.ports() });
  } catch (err) {
    await gateway.close();
    throw err;
  }
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
      await telemetry.close();
      await Promise.all(servers.map((s) => s.close()));
    },
  };
}
