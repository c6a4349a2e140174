import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import type { PolicyDefinition } from '../pipeline/index.ts';
import type { ResolvedConfig } from './resolve.ts';
import type { Issue } from '../schema/index.ts';

/**
 * What `validate` checks beyond the schema, so that it does not say "valid" for a config that `start` then
 * rejects or cannot serve: files the config names (TLS certificates, JWKS, Rego, keys, filters) exist, and every
 * stdio command can be found (a missing command is a warning: it is a fact of this machine, not of the config).
 * Each problem carries its config path.
 */
export function checkLocalInputs(config: ResolvedConfig, definitions: readonly PolicyDefinition[]): Issue[] {
  const issues: Issue[] = [];
  const file = (path: string, f: string) => {
    if (!existsSync(f)) issues.push({ path, message: `file not found: ${f}` });
  };
  for (const bind of config.binds) {
    for (const listener of bind.listeners) {
      if (listener.tls) {
        file(`${listener.path}.tls.cert`, listener.tls.cert);
        file(`${listener.path}.tls.key`, listener.tls.key);
      }
      const holders: Array<[string, Record<string, unknown>]> = [
        [`${listener.path}.policies`, listener.policies as Record<string, unknown>],
        ...listener.routes.map((r): [string, Record<string, unknown>] => [`${r.path}.policies`, r.policies as Record<string, unknown>]),
      ];
      for (const [path, policies] of holders) {
        for (const def of definitions) {
          const value = policies[def.name];
          if (value === undefined || !def.files) continue;
          for (const f of def.files(value, config.baseDir)) file(`${path}.${def.name}`, f);
        }
      }
      for (const route of listener.routes) {
        route.backends.forEach((backend, b) => {
          if (backend.kind !== 'mcp') return;
          const targets = (backend.config as { targets?: Array<{ stdio?: { cmd: string; cwd?: string } }> }).targets ?? [];
          targets.forEach((t, i) => {
            if (!t.stdio) return;
            const cwd = t.stdio.cwd ? resolve(config.baseDir, t.stdio.cwd) : config.baseDir;
            const path = `${route.path}.backends[${b}].mcp.targets[${i}].stdio`;
            if (!existsSync(cwd)) issues.push({ path: `${path}.cwd`, message: `directory not found: ${cwd}` });
            // A warning: the config is valid and runs where the command exists (a container, a CI runner).
            if (!commandExists(t.stdio.cmd, cwd)) issues.push({ path: `${path}.cmd`, message: `command not found: ${JSON.stringify(t.stdio.cmd)} (not on PATH, nor a file from ${cwd})`, severity: 'warning' });
          });
        });
      }
    }
  }
  return issues;
}

/** Whether `cmd` would spawn: `node` (the gateway's own), a path to an executable file, or a name on PATH. */
export function commandExists(cmd: string, cwd: string): boolean {
  if (cmd === 'node') return true;
  const executable = (f: string) => {
    try {
      accessSync(f, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (cmd.includes('/')) return executable(isAbsolute(cmd) ? cmd : resolve(cwd, cmd));
  return (process.env.PATH ?? '').split(delimiter).some((dir) => dir !== '' && executable(join(dir, cmd)));
}
