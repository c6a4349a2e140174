import { existsSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import type { GatewayConfig } from '../../sdk-types/config.ts';
import { isPlainObject } from '../schema/index.ts';

/** Config keys whose string value names a local file or directory. */
const PATH_KEYS = new Set(['cert', 'key', 'root', 'file', 'keysFile', 'rego', 'data', 'cwd']);

/**
 * Relative paths resolve from the config file's folder. agentgateway's examples are written to be run from its
 * repository root and resolve from the working directory instead, so a path that does not exist beside the config
 * but does exist from the working directory is taken from there (made absolute here), and a notice says so.
 */
export function withWorkingDirFallback(config: GatewayConfig, baseDir: string, cwd: string, notices: string[]): GatewayConfig {
  if (resolve(baseDir) === resolve(cwd)) return config;
  const fix = (value: string, path: string): string => {
    if (value === '' || isAbsolute(value) || /^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return value;
    if (existsSync(resolve(baseDir, value))) return value;
    const fromCwd = resolve(cwd, value);
    if (!existsSync(fromCwd)) return value;
    notices.push(`${path}: "${value}" is not in the config file's folder (${relative(cwd, baseDir) || '.'}); using ${fromCwd}, found from the working directory`);
    return fromCwd;
  };
  const walk = (v: unknown, path: string): unknown => {
    if (Array.isArray(v)) return v.map((item, i) => walk(item, `${path}[${i}]`));
    if (!isPlainObject(v)) return v;
    const out: Record<string, unknown> = {};
    for (const [k, child] of Object.entries(v)) {
      const p = path ? `${path}.${k}` : k;
      if (PATH_KEYS.has(k) && typeof child === 'string') out[k] = fix(child, p);
      else if (PATH_KEYS.has(k) && Array.isArray(child) && child.every((c) => typeof c === 'string')) out[k] = child.map((c, i) => fix(c, `${p}[${i}]`));
      else out[k] = walk(child, p);
    }
    return out;
  };
  return walk(config, '') as GatewayConfig;
}
