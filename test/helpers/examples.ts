import { fileURLToPath } from 'node:url';
import type { LoadedConfig, ResolvedBackend } from '../../core/config/index.ts';
import type { PolicyDefinition } from '../../core/pipeline/index.ts';
import { startPortcullis, type RunningGateway } from '../../core/server/index.ts';
import { createLogger } from '../../core/telemetry/index.ts';
import { builtinPolicies } from '../../policies/index.ts';
import { builtinBackends } from '../../core/gateway/backends.ts';
import { LogCapture, targetWithoutWarmPool } from './gateway.ts';

export const examplePath = (name: string, file = 'gateway.config.ts') => fileURLToPath(new URL(`../../examples/${name}/${file}`, import.meta.url));

/**
 * Starts an example's config exactly as written, except that binds move to 127.0.0.1 port 0, admin and readiness
 * are off, the stats server is off unless `stats` names an address, stdio MCP targets keep no warm pool unless
 * `warmPool` is true, and (optionally) HTTP host backends point at a test upstream and A2A agents at the ones a
 * test started.
 */
export async function startExample(
  name: string,
  options: { file?: string; upstreamHost?: string; policies?: readonly PolicyDefinition[]; stats?: string | false; a2aAgents?: Record<string, string>; warmPool?: boolean } = {},
): Promise<{ running: RunningGateway; logs: LogCapture; url(i?: number): string }> {
  const logs = new LogCapture();
  const transform = (loaded: LoadedConfig): LoadedConfig => {
    const c = loaded.config;
    const backend = (b: ResolvedBackend): ResolvedBackend => {
      if (b.kind === 'host' && options.upstreamHost) return { ...b, config: options.upstreamHost, name: options.upstreamHost };
      const targets = (b.config as { targets?: Array<{ stdio?: Record<string, unknown> }> }).targets;
      if (b.kind === 'mcp' && !options.warmPool && targets) return { ...b, config: { ...(b.config as object), targets: targets.map(targetWithoutWarmPool) } };
      // A2A agents started on free ports (`a2aAgents`: name → URL), so the test never needs the example's fixed ones.
      const agents = (b.config as { agents?: Array<{ name: string; url: string }> }).agents;
      if (b.kind === 'a2a' && options.a2aAgents && agents) return { ...b, config: { ...(b.config as object), agents: agents.map((a) => ({ ...a, url: options.a2aAgents![a.name] ?? a.url })) } };
      return b;
    };
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
    backends: builtinBackends,
    watch: false,
    logger: createLogger({ level: 'debug', destination: logs.stream }),
    transform,
  });
  return { running, logs, url: (i = 0) => `http://127.0.0.1:${running.gateway.ports()[i]}` };
}
