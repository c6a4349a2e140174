import { fileURLToPath } from 'node:url';
import type { LoadedConfig, ResolvedBackend } from '../../core/config/index.ts';
import type { PolicyDefinition } from '../../core/pipeline/index.ts';
import { startPortcullis, type RunningGateway } from '../../core/server/index.ts';
import { createLogger } from '../../core/telemetry/index.ts';
import { builtinPolicies } from '../../policies/index.ts';
import { LogCapture } from './gateway.ts';

export const examplePath = (name: string, file = 'gateway.config.ts') => fileURLToPath(new URL(`../../examples/${name}/${file}`, import.meta.url));

/**
 * Starts an example's config exactly as written, except that binds move to 127.0.0.1 port 0, admin and readiness
 * are off, the stats server is off unless `stats` names an address, and (optionally) HTTP host backends point at a test upstream.
 */
export async function startExample(
  name: string,
  options: { file?: string; upstreamHost?: string; policies?: readonly PolicyDefinition[]; stats?: string | false } = {},
): Promise<{ running: RunningGateway; logs: LogCapture; url(i?: number): string }> {
  const logs = new LogCapture();
  const transform = (loaded: LoadedConfig): LoadedConfig => {
    const c = loaded.config;
    const backend = (b: ResolvedBackend): ResolvedBackend =>
      b.kind === 'host' && options.upstreamHost ? { ...b, config: options.upstreamHost, name: options.upstreamHost } : b;
    return {
      ...loaded,
      config: {
        ...c,
        admin: { address: false },
        readiness: { address: false },
        telemetry: { ...c.telemetry, stats: { address: options.stats ?? false } },
        binds: c.binds.map((bind) => ({
          ...bind,
          port: 0,
          address: '127.0.0.1',
          listeners: bind.listeners.map((l) => ({ ...l, routes: l.routes.map((r) => ({ ...r, backends: r.backends.map(backend) })) })),
        })),
      },
    };
  };
  const running = await startPortcullis({
    configFile: examplePath(name, options.file),
    policies: options.policies ?? builtinPolicies,
    watch: false,
    logger: createLogger({ level: 'debug', destination: logs.stream }),
    transform,
  });
  return { running, logs, url: (i = 0) => `http://127.0.0.1:${running.gateway.ports()[i]}` };
}
