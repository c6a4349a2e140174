import { createGateway } from '../../core/gateway/index.ts';
import type { PolicyDefinition } from '../../core/pipeline/index.ts';
import type { Runtime } from '../../core/server/index.ts';
import type { CreatedGateway } from '../../core/server/create.ts';
import { createLogger } from '../../core/telemetry/index.ts';
import { builtinPolicies } from '../../policies/index.ts';
import type { GatewayConfig } from '../../sdk-types/index.ts';
import { LogCapture } from './gateway.ts';

export interface TestRuntime {
  /** The runtime serving now. */
  readonly runtime: Runtime;
  readonly gateway: CreatedGateway;
  logs: LogCapture;
  /** `gateway.handle` for a path (or URL) on http://localhost, with fetch's options. */
  fetch(pathOrUrl: string, init?: RequestInit, options?: Parameters<Runtime['handle']>[1]): Promise<Response>;
  close(): Promise<void>;
}

/**
 * A gateway made by `createGateway(config)`, served in process through `handle`: the config object validated and
 * resolved as a file's would be (relative paths from the working directory), no socket. `policies` beyond the
 * built-in ones are added to them.
 */
export async function buildTestRuntime(config: GatewayConfig, policies: readonly PolicyDefinition[] = builtinPolicies): Promise<TestRuntime> {
  const logs = new LogCapture();
  const logger = createLogger({ level: 'debug', destination: logs.stream });
  const extra = policies.filter((p) => !builtinPolicies.includes(p));
  const gateway = await createGateway({ admin: { address: false }, readiness: { address: false }, ...config }, { logger, policies: extra });
  return {
    get runtime() {
      return gateway.gateway.current;
    },
    gateway,
    logs,
    fetch: (pathOrUrl, init, options) => gateway.handle(new Request(new URL(pathOrUrl, 'http://localhost'), init), options),
    close: () => gateway.close(),
  };
}
