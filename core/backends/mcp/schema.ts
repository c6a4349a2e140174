import { array, boolean, literal, number, object, record, string, type Schema } from '../../schema/index.ts';
import { openApiTargetSchema } from './upstream/openapi/config-schema.ts';
import { refineToolNames, targetToolsSchema, toolSearchSchema, toolsetsSchema } from './tools/schema.ts';

const path = string({ pattern: /^\//, patternHint: 'a path starting with "/"' });

const remoteTarget = object(
  {
    url: string({ pattern: /^https?:\/\//, patternHint: 'an http(s) URL' }),
    host: string({ nonEmpty: true }),
    port: number({ integer: true, min: 1, max: 65535 }),
    path,
    headers: record(string()),
  },
  {
    refine(v, p, issues) {
      if (v.url === undefined && v.host === undefined) issues.push({ path: p, message: 'expected url or host' });
      // A URL here used to pass validation and then fail every session with "Invalid URL".
      if (typeof v.host === 'string' && v.host.includes('://')) issues.push({ path: `${p}.host`, message: `expected a host name, got the URL ${JSON.stringify(v.host)} (put a URL in url)` });
    },
  },
);

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

const mcpTarget = object(
  {
    name: string({ pattern: /^[A-Za-z0-9_-]+$/, patternHint: 'letters, digits, "_" or "-"' }),
    stdio: object(
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
    ),
    sse: remoteTarget,
    mcp: remoteTarget,
    openapi: openApiTargetSchema,
    requestTimeoutMs: number({ integer: true, min: 1 }),
    tools: targetToolsSchema,
  },
  { required: ['name'], exactlyOne: ['stdio', 'sse', 'mcp', 'openapi'] },
);

/** The schema of an `mcp` backend entry. */
export const mcpBackendSchema = object(
  {
    targets: array(mcpTarget, { minItems: 1 }),
    prefixMode: literal('conditional', 'always', 'never'),
    failureMode: literal('failClosed', 'failOpen'),
    statefulMode: literal('stateful', 'stateless'),
    sessionIdleTimeoutMs: number({ integer: true, min: 1 }),
    requestTimeoutMs: number({ integer: true, min: 1 }),
    maxBatchSize: number({ integer: true, min: 1, max: 100_000 }),
    maxUpstreamMessageBytes: number({ integer: true, min: 1024, max: 1024 * 1024 * 1024 }),
    maxSessions: number({ integer: true, min: 1, max: 1_000_000 }),
    maxSessionsPerIdentity: number({ integer: true, min: 1, max: 1_000_000 }),
    maxRequestsPerSession: number({ integer: true, min: 1, max: 1_000_000 }),
    maxRequestsPerIdentity: number({ integer: true, min: 1, max: 1_000_000 }),
    dnsRebindingProtection: object({
      enabled: boolean(),
      allowedOrigins: array(string({ nonEmpty: true })),
      allowedHosts: array(string({ nonEmpty: true })),
    }),
    toolsets: toolsetsSchema,
    toolSearch: toolSearchSchema,
  },
  {
    required: ['targets'],
    refine(v, p, issues) {
      const seen = new Set<string>();
      (v.targets as Array<{ name: string }>).forEach((t, i) => {
        if (seen.has(t.name)) issues.push({ path: `${p}.targets[${i}].name`, message: `duplicate target name "${t.name}"` });
        seen.add(t.name);
      });
      refineToolNames(v, p, issues);
    },
  },
);
