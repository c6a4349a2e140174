import type { PolicyDefinition } from '../pipeline/types.ts';
import {
  array,
  boolean,
  isPlainObject,
  literal,
  number,
  object,
  record,
  regex,
  string,
  type Schema,
} from './schema.ts';

const HOSTNAME = /^(\*|(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*)$/;
const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export const hostnameSchema = string({ pattern: HOSTNAME, patternHint: 'a host name, optionally starting with "*."' });
export const hostPortSchema = string({ pattern: HOST_PORT, patternHint: '"host:port"' });
export const headerNameSchema = string({ pattern: TOKEN, patternHint: 'an HTTP header name' });
const path = string({ pattern: /^\//, patternHint: 'a path starting with "/"' });
const ms = number({ integer: true, min: 0 });

const valueMatch = object({ exact: string(), regex: regex() }, { exactlyOne: ['exact', 'regex'] });

const routeMatch = object({
  path: object({ exact: path, pathPrefix: path, regex: regex() }, { exactlyOne: ['exact', 'pathPrefix', 'regex'] }),
  method: string({ pattern: /^[A-Z]+$/, patternHint: 'an upper-case HTTP method' }),
  headers: array(object({ name: headerNameSchema, value: valueMatch }, { required: ['name', 'value'] })),
  query: array(object({ name: string({ nonEmpty: true }), value: valueMatch }, { required: ['name', 'value'] })),
});

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
    },
  },
);

const mcpTarget = object(
  {
    name: string({ pattern: /^[A-Za-z0-9_-]+$/, patternHint: 'letters, digits, "_" or "-"' }),
    stdio: object(
      { cmd: string({ nonEmpty: true }), args: array(string()), env: record(string()), cwd: string(), warmPool: number({ integer: true, min: 0, max: 64 }), maxProcesses: number({ integer: true, min: 1, max: 100_000 }) },
      { required: ['cmd'] },
    ),
    sse: remoteTarget,
    mcp: remoteTarget,
    requestTimeoutMs: number({ integer: true, min: 1 }),
  },
  { required: ['name'], exactlyOne: ['stdio', 'sse', 'mcp'] },
);

const mcpBackend = object(
  {
    targets: array(mcpTarget, { minItems: 1 }),
    prefixMode: literal('conditional', 'always', 'never'),
    failureMode: literal('failClosed', 'failOpen'),
    statefulMode: literal('stateful', 'stateless'),
    sessionIdleTimeoutMs: number({ integer: true, min: 1 }),
    requestTimeoutMs: number({ integer: true, min: 1 }),
    maxBatchSize: number({ integer: true, min: 1, max: 100_000 }),
    maxSessions: number({ integer: true, min: 1, max: 1_000_000 }),
    maxSessionsPerIdentity: number({ integer: true, min: 1, max: 1_000_000 }),
    dnsRebindingProtection: object({
      enabled: boolean(),
      allowedOrigins: array(string({ nonEmpty: true })),
      allowedHosts: array(string({ nonEmpty: true })),
    }),
  },
  {
    required: ['targets'],
    refine(v, p, issues) {
      const seen = new Set<string>();
      (v.targets as Array<{ name: string }>).forEach((t, i) => {
        if (seen.has(t.name)) issues.push({ path: `${p}.targets[${i}].name`, message: `duplicate target name "${t.name}"` });
        seen.add(t.name);
      });
    },
  },
);

const backend = object(
  { host: hostPortSchema, mcp: mcpBackend, weight: number({ integer: true, min: 0, max: 1_000_000 }) },
  { exactlyOne: ['host', 'mcp'] },
);

export function policiesSchema(definitions: readonly PolicyDefinition[]): Schema {
  return object(Object.fromEntries(definitions.map((d) => [d.name, d.schema])));
}

/** The schema of the whole config, with the `policies` blocks made of the registered policy kinds. */
export function gatewaySchema(definitions: readonly PolicyDefinition[]): Schema {
  const policies = policiesSchema(definitions);
  const terminal = definitions.filter((d) => d.terminal).map((d) => d.name);

  const route = object(
    {
      name: string({ nonEmpty: true }),
      hostnames: array(hostnameSchema),
      matches: array(routeMatch),
      policies,
      backends: array(backend),
    },
    {
      refine(v, p, issues) {
        const backends = (v.backends as unknown[] | undefined) ?? [];
        const answers = terminal.some((name) => isPlainObject(v.policies) && v.policies[name] !== undefined);
        if (backends.length === 0 && !answers) {
          issues.push({
            path: `${p}.backends`,
            message: `a route needs at least one backend, or a policy that answers itself (${terminal.join(', ')})`,
          });
        }
        // An MCP backend already multiplexes its targets: a second one on the route would have nothing to do.
        const mcp = backends.filter((b) => isPlainObject(b) && b.mcp !== undefined).length;
        if (mcp > 1) issues.push({ path: `${p}.backends`, message: `a route serves one MCP backend (put every server in its targets), got ${mcp}` });
        if (mcp > 0 && mcp < backends.length) issues.push({ path: `${p}.backends`, message: 'a route cannot mix host and mcp backends' });
      },
    },
  );

  const listener = object(
    {
      name: string({ nonEmpty: true }),
      gatewayName: string(),
      hostname: hostnameSchema,
      protocol: literal('HTTP', 'HTTPS'),
      tls: object({ cert: string({ nonEmpty: true }), key: string({ nonEmpty: true }) }, { required: ['cert', 'key'] }),
      policies,
      routes: array(route),
    },
    {
      required: ['routes'],
      refine(v, p, issues) {
        if (v.protocol === 'HTTPS' && v.tls === undefined) issues.push({ path: `${p}.tls`, message: 'is required when protocol is "HTTPS"' });
        if (v.tls !== undefined && v.protocol === 'HTTP') issues.push({ path: `${p}.protocol`, message: 'must be "HTTPS" when tls is set' });
      },
    },
  );

  const bind = object(
    {
      port: number({ integer: true, min: 0, max: 65535 }),
      address: string({ nonEmpty: true }),
      listeners: array(listener, { minItems: 1 }),
    },
    {
      required: ['port', 'listeners'],
      refine(v, p, issues) {
        const listeners = v.listeners as Array<{ protocol?: string; tls?: unknown }>;
        const kinds = new Set(listeners.map((l) => (l.tls || l.protocol === 'HTTPS' ? 'HTTPS' : 'HTTP')));
        if (kinds.size > 1) issues.push({ path: `${p}.listeners`, message: 'every listener of one bind must use the same protocol (HTTP or HTTPS)' });
      },
    },
  );

  const address = string({ pattern: HOST_PORT, patternHint: '"host:port"' });
  const addressOrOff = {
    describe: 'string | false',
    check(value: unknown, p: string, issues: Parameters<Schema['check']>[2]) {
      if (value === false) return;
      address.check(value, p, issues);
    },
  } satisfies Schema;

  return object(
    {
      binds: array(bind, { minItems: 1 }),
      admin: object({ address: addressOrOff }),
      readiness: object({ address: addressOrOff }),
      logging: object({
        level: literal('trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'),
        format: literal('json', 'pretty'),
        accessLog: boolean(),
      }),
      limits: object({ maxRequestBodyBytes: number({ integer: true, min: 0 }) }),
      upstream: object({ connectTimeoutMs: ms, bodyIdleTimeoutMs: ms, keepAliveTimeoutMs: ms, ejectionMs: ms }),
      shutdown: object({ drainTimeoutMs: ms }),
    },
    {
      required: ['binds'],
      refine(v, p, issues) {
        const seen = new Map<string, number>();
        (v.binds as Array<{ port: number; address?: string }>).forEach((b, i) => {
          if (b.port === 0) return;
          const key = `${b.address ?? '0.0.0.0'}:${b.port}`;
          if (seen.has(key)) issues.push({ path: `binds[${i}].port`, message: `port ${b.port} is already bound by binds[${seen.get(key)}]` });
          seen.set(key, i);
        });
      },
    },
  );
}
