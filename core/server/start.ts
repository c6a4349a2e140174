import type { CreateGatewayOptions } from '../../sdk-types/gateway.ts';
import type { LoadedConfig } from '../config/index.ts';
import type { BackendDefinition } from '../backends/types.ts';
import type { PolicyDefinition } from '../pipeline/index.ts';
import type { Logger, Telemetry } from '../telemetry/index.ts';
import type { AdminServer } from '../admin/index.ts';
import { createGatewayWith } from './create.ts';
import type { Gateway, GatewayOptions, ReloadResult } from './gateway.ts';
import type { GatewayParts } from './create.ts';

export { plannedAddresses } from './create.ts';

export interface StartOptions {
  configFile: string;
  policies: readonly PolicyDefinition[];
  /** The backend kinds, checked by `backendKinds` (the composition root lists the built-in ones). */
  backends: readonly BackendDefinition<any>[];
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
  /** Makes the channel to other replicas (see `GatewayParts.peers`): handed in by the composition root. */
  peers?: GatewayParts['peers'];
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

/**
 * Starts the data plane, the admin and readiness servers and the file watcher: `createGatewayWith` then `listen`,
 * for the callers that start a gateway from its file (the CLI's one-process mode, a worker process, tests).
 */
export async function startPortcullis(options: StartOptions): Promise<RunningGateway> {
  const created = await createGatewayWith(options.configFile, {
    policies: options.policies,
    backends: options.backends,
    watch: options.watch ?? true,
    logger: options.logger,
    logLevel: options.logLevel as CreateGatewayOptions['logLevel'],
    logFormat: options.logFormat,
    transform: options.transform,
    loaded: options.loaded,
    worker: options.worker,
    peers: options.peers,
  });
  try {
    await created.listen();
  } catch (err) {
    await created.close();
    throw err;
  }
  return {
    gateway: created.gateway,
    admin: created.admin,
    readiness: created.readiness,
    logger: created.logger,
    get telemetry() {
      return created.telemetry;
    },
    reload: (changed) => created.reload(undefined, changed),
    close: () => created.close(),
  };
}
