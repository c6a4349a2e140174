import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../core/config/index.ts';
import type { PolicyDefinition } from '../../core/pipeline/index.ts';
import { buildRuntime, type Runtime } from '../../core/server/index.ts';
import { createLogger } from '../../core/telemetry/index.ts';
import { builtinPolicies } from '../../policies/index.ts';
import type { GatewayConfig } from '../../sdk-types/index.ts';
import { configSource, LogCapture } from './gateway.ts';

export interface TestRuntime {
  runtime: Runtime;
  logs: LogCapture;
  /** `runtime.handle` for a path (or URL) on http://localhost, with fetch's options. */
  fetch(pathOrUrl: string, init?: RequestInit, options?: Parameters<Runtime['handle']>[1]): Promise<Response>;
  close(): Promise<void>;
}

/**
 * A runtime built the way the gateway builds one (the config written as gateway.config.ts, loaded through the
 * same esbuild loader, validated, resolved), served in process through `runtime.handle`: no gateway socket.
 */
export async function buildTestRuntime(config: GatewayConfig, policies: readonly PolicyDefinition[] = builtinPolicies): Promise<TestRuntime> {
  const dir = await mkdtemp(join(tmpdir(), 'pcl-runtime-'));
  const file = join(dir, 'gateway.config.ts');
  await writeFile(file, configSource({ admin: { address: false }, readiness: { address: false }, ...config }));
  const logs = new LogCapture();
  const logger = createLogger({ level: 'debug', destination: logs.stream });
  try {
    const loaded = await loadConfig(file, policies);
    const runtime = await buildRuntime(loaded.config, policies, logger);
    return {
      runtime,
      logs,
      fetch: (pathOrUrl, init, options) => runtime.handle(new Request(new URL(pathOrUrl, 'http://localhost'), init), options),
      async close() {
        await runtime.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
