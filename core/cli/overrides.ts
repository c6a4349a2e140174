import { HOST_PORT } from '../schema/index.ts';
import type { LoadedConfig } from '../config/index.ts';

/** The CLI flags that move a server of the gateway, and the config setting each overrides. */
const FLAGS = { admin: 'admin', readiness: 'readiness', stats: 'stats' } as const;

/**
 * `--admin`, `--readiness` and `--stats` as a transform of every loaded config (so a reload keeps them): a
 * `host:port`, or `off` (also `false`) to turn that server off. Returns a message for a malformed value.
 */
export function addressOverrides(values: Partial<Record<keyof typeof FLAGS, string | boolean | undefined>>): ((loaded: LoadedConfig) => LoadedConfig) | undefined | string {
  const set: Array<[string, string | false]> = [];
  for (const [flag, key] of Object.entries(FLAGS)) {
    const value = values[flag as keyof typeof FLAGS];
    if (typeof value !== 'string') continue;
    if (value === 'off' || value === 'false') set.push([key, false]);
    else if (HOST_PORT.test(value)) set.push([key, value]);
    else return `--${flag}: expected host:port or off, got ${JSON.stringify(value)}`;
  }
  if (set.length === 0) return undefined;
  return (loaded) => {
    const config: Record<string, unknown> = { ...loaded.config };
    for (const [key, address] of set) {
      // The stats server's address lives with the rest of the telemetry settings in the resolved config.
      if (key === 'stats') {
        const telemetry = config.telemetry as { stats?: object } | undefined;
        config.telemetry = { ...telemetry, stats: { ...telemetry?.stats, address } };
      } else config[key] = { ...(config[key] as object | undefined), address };
    }
    return { ...loaded, config: config as unknown as LoadedConfig['config'] };
  };
}
