import { resolve as resolvePath } from 'node:path';
import type { McpStdioTarget } from '../../../../sdk-types/config.ts';
import { array, boolean, number, object, record, string, type Schema } from '../../../schema/index.ts';
import { npxAutoInstalls, npxEnvironment, npxPackage } from './npx.ts';
import { safeEnvironment, StdioTransport } from './stdio.ts';
import type { McpTargetKind } from './target-kind.ts';

/** `true` (the gateway's whole environment) or a list of variable names. */
const inheritEnvSchema: Schema = {
  describe: 'boolean | array of string',
  check(value, p, issues) {
    if (typeof value === 'boolean') return;
    if (Array.isArray(value)) return array(string({ pattern: /^[A-Za-z_][A-Za-z0-9_]*$/, patternHint: 'an environment variable name' })).check(value, p, issues);
    issues.push({ path: p, message: `expected true, false or a list of variable names, got ${JSON.stringify(value)}` });
  },
  jsonSchema: () => ({ anyOf: [{ type: 'boolean' }, { type: 'array', items: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' } }] }),
};

const stdioSchema = object(
  { cmd: string({ nonEmpty: true }), args: array(string()), env: record(string()), inheritEnv: inheritEnvSchema, cwd: string(), warmPool: number({ integer: true, min: 0, max: 64 }), warmPoolMax: number({ integer: true, min: 0, max: 256 }), maxProcesses: number({ integer: true, min: 1, max: 100_000 }), shared: boolean(), autoInstall: boolean() },
  {
    required: ['cmd'],
    refine(v, p, issues) {
      // A shared process is the warm one: a pool of per-session processes beside it would never be used.
      if (v.shared !== true) return;
      for (const key of ['warmPool', 'warmPoolMax'] as const) {
        if (v[key] !== undefined) issues.push({ path: `${p}.${key}`, message: `${key} has no effect with shared: true (sessions share one process, started at load): remove ${key}, or set shared: false` });
      }
    },
  },
);

/** `stdio`: a local process speaking MCP over stdin/stdout, one per session (pooled) or one shared. */
export const stdioTargetKind: McpTargetKind<McpStdioTarget> = {
  key: 'stdio',
  schema: stdioSchema,
  processes: (s) => ({ maxProcesses: s.maxProcesses, warmPool: s.warmPool, warmPoolMax: s.warmPoolMax, shared: s.shared }),
  create(s, ctx) {
    return new StdioTransport({
      cmd: s.cmd,
      args: s.args ?? [],
      env: { ...safeEnvironment(s.env, s.inheritEnv), ...npxEnvironment(s) },
      cwd: s.cwd ? resolvePath(ctx.baseDir, s.cwd) : ctx.baseDir,
      onStderr: ctx.onStderr,
    });
  },
  announce(s, { route, target, logger }) {
    if (!npxAutoInstalls(s)) return;
    logger.info({ route, target, package: npxPackage(s.args ?? []) }, 'npx target: the package is fetched from the npm registry when it is not installed (npm_config_yes=true, as a terminal user answers npx\'s prompt; autoInstall: false turns this off)');
  },
};
