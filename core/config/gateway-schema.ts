import type { PolicyDefinition } from '../pipeline/index.ts';
import { array, boolean, headerNameSchema, HOST_PORT, hostnameSchema, isPlainObject, literal, number, object, oneOf, regex, type Schema, string } from '../schema/index.ts';

import { DIRECT_KIND, routeBackendKinds, type BackendKinds } from './backend-kinds.ts';
import { accessLogShapeSchema, sinksSchema, telemetrySchemas } from '../telemetry/index.ts';

export { headerNameSchema, hostnameSchema, hostPortSchema } from '../schema/index.ts';

const path = string({ pattern: /^\//, patternHint: 'a path starting with "/"' });
const ms = number({ integer: true, min: 0 });

const valueMatch = object({ exact: string(), regex: regex() }, { exactlyOne: ['exact', 'regex'] });

const routeMatch = object({
  path: object({ exact: path, pathPrefix: path, regex: regex() }, { exactlyOne: ['exact', 'pathPrefix', 'regex'] }),
  method: string({ pattern: /^[A-Z]+$/, patternHint: 'an upper-case HTTP method' }),
  headers: array(object({ name: headerNameSchema, value: valueMatch }, { required: ['name', 'value'] })),
  query: array(object({ name: string({ nonEmpty: true }), value: valueMatch }, { required: ['name', 'value'] })),
});

/** A backend entry: exactly one served kind's key, and a weight (built per validation: kinds may be plugged in). */
function backendSchema(kinds: BackendKinds): Schema {
  const backendKeys = kinds.filter((b) => b.schema);
  return object(
    { ...Object.fromEntries(backendKeys.map((b) => [b.kind, b.schema!])), weight: number({ integer: true, min: 0, max: 1_000_000 }) },
    { exactlyOne: backendKeys.map((b) => b.kind) },
  );
}

export function policiesSchema(definitions: readonly PolicyDefinition[]): Schema {
  return object(Object.fromEntries(definitions.map((d) => [d.name, d.schema])));
}

/**
 * The schema of the whole config, with the `policies` blocks made of the given policy kinds and the `backends`
 * entries of the given backend kinds (both handed in by the composition root).
 */
export function gatewaySchema(definitions: readonly PolicyDefinition[], kinds: BackendKinds): Schema {
  const policies = policiesSchema(definitions);
  const terminal = definitions.filter((d) => d.terminal).map((d) => d.name);
  const backend = backendSchema(kinds);

  const route = object(
    {
      name: string({ nonEmpty: true }),
      hostnames: array(hostnameSchema),
      matches: array(routeMatch),
      policies,
      backends: array(backend),
    },
    {
      refineAlways: true,
      refine(v, p, issues) {
        const backends = (v.backends as unknown[] | undefined) ?? [];
        const answers = terminal.some((name) => isPlainObject(v.policies) && v.policies[name] !== undefined);
        if (backends.length === 0 && !answers) {
          issues.push({
            path: `${p}.backends`,
            message: `a route needs at least one backend, or a policy that answers itself (${terminal.join(', ')})`,
            stage: 'backends',
          });
        }
        const used = routeBackendKinds(kinds, backends);
        for (const def of kinds.filter((b) => b.exclusive)) {
          // An exclusive backend (MCP) already multiplexes what it serves: a second one would have nothing to do.
          const count = backends.filter((b) => isPlainObject(b) && b[def.kind] !== undefined).length;
          if (count > 1) issues.push({ path: `${p}.backends`, message: `a route serves one ${def.title ?? def.kind} backend (put every server in its targets), got ${count}`, stage: 'backends' });
          if (count > 0 && used.length > 1) issues.push({ path: `${p}.backends`, message: `a route cannot mix ${used.join(' and ')} backends`, stage: 'backends' });
        }
        if (isPlainObject(v.policies)) checkPolicyBackends(definitions, kinds, v.policies, `${p}.policies`, used, '', issues);
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
      refineAlways: true,
      refine(v, p, issues) {
        const routes = v.routes as Array<Record<string, unknown>>;
        // Route names are the identity of a route's state (MCP sessions, counters): unique within their listener.
        const names = new Map<string, number>();
        routes.forEach((r, i) => {
          const name = routeName(r, i);
          const first = names.get(name);
          if (first !== undefined) {
            const what = typeof r.name === 'string' ? `duplicate route name "${name}"` : `the name "${name}" this unnamed route gets`;
            issues.push({ path: `${p}.routes[${i}].name`, message: `${what} is already used by routes[${first}] of this listener`, stage: 'names' });
          } else names.set(name, i);
        });
        // A listener policy runs on every route that does not set its own: each must be able to act on it.
        if (isPlainObject(v.policies)) {
          routes.forEach((r, i) => {
            const own = isPlainObject(r.policies) ? r.policies : {};
            const inherited = Object.fromEntries(Object.entries(v.policies as object).filter(([k]) => own[k] === undefined));
            const used = routeBackendKinds(kinds, r.backends as unknown[] | undefined).filter((k) => k !== DIRECT_KIND);
            checkPolicyBackends(definitions, kinds, inherited, `${p}.policies`, used, ` of routes[${i}]`, issues);
          });
        }
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
      refineAlways: true,
      refine(v, p, issues) {
        const names = new Map<string, number>();
        (v.listeners as Array<{ name?: string }>).forEach((l, i) => {
          if (l.name === undefined) return;
          const first = names.get(l.name);
          if (first !== undefined) issues.push({ path: `${p}.listeners[${i}].name`, message: `duplicate listener name "${l.name}" (already used by listeners[${first}])`, stage: 'names' });
          else names.set(l.name, i);
        });
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
    jsonSchema: (ctx) => ({ anyOf: [{ const: false }, ctx.of(address, '')], description: 'a "host:port" address, or false for none' }),
  } satisfies Schema;

  return object(
    {
      binds: array(bind, { minItems: 1 }),
      admin: object({
        address: addressOrOff,
        token: object({ secret: string({ nonEmpty: true }), env: string({ nonEmpty: true }), file: string({ nonEmpty: true }) }, { exactlyOne: ['secret', 'env', 'file'] }),
      }),
      readiness: object({ address: addressOrOff }),
      logging: object({
        level: literal('trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'),
        format: literal('json', 'pretty'),
        accessLog: oneOf('boolean | { filter, add, remove }', [
          { when: (v) => typeof v === 'boolean', schema: boolean() },
          { when: isPlainObject, schema: accessLogShapeSchema },
        ]),
      }),
      limits: object({
        maxRequestBodyBytes: number({ integer: true, min: 0 }),
        maxConnections: number({ integer: true, min: 1 }),
        maxConnectionsPerClient: number({ integer: true, min: 1 }),
        headersTimeoutMs: number({ integer: true, min: 100 }),
        idleTimeoutMs: number({ integer: true, min: 100 }),
      }),
      upstream: object({ connectTimeoutMs: ms, bodyIdleTimeoutMs: ms, keepAliveTimeoutMs: ms, ejectionMs: ms }),
      shutdown: object({ drainTimeoutMs: ms }),
      ...telemetrySchemas,
      sinks: sinksSchema(),
      // Worker processes (core/cluster): a count, or 'auto' for one per core.
      workers: oneOf("a whole number from 1 to 256 or 'auto'", [
        { when: (v) => v === 'auto', schema: literal('auto') },
        { when: () => true, schema: number({ integer: true, min: 1, max: 256 }) },
      ]),
    },
    {
      required: ['binds'],
      refineAlways: true,
      refine(v, p, issues) {
        const seen = new Map<string, number>();
        (v.binds as Array<{ port: number; address?: string }>).forEach((b, i) => {
          if (b.port === 0) return;
          const key = `${b.address ?? '0.0.0.0'}:${b.port}`;
          if (seen.has(key)) issues.push({ path: `binds[${i}].port`, message: `port ${b.port} is already bound by binds[${seen.get(key)}]`, stage: 'names' });
          seen.set(key, i);
        });
      },
    },
  );
}

/** The name a route is known by: its own, or one derived from its position, stable while the route stays there. */
export function routeName(route: { name?: unknown }, index: number): string {
  return typeof route.name === 'string' ? route.name : `route${index}`;
}

/**
 * One rule for validation: a policy that requires capabilities cannot sit on a route whose backend kind lacks one.
 * The message names the kinds that have them, read from the gateway's backend kinds.
 */
function checkPolicyBackends(
  definitions: readonly PolicyDefinition[],
  served: BackendKinds,
  policies: Record<string, unknown>,
  path: string,
  kinds: readonly string[],
  where: string,
  issues: Parameters<Schema['check']>[2],
): void {
  for (const name of Object.keys(policies)) {
    const def = definitions.find((d) => d.name === name);
    if (!def?.requires) continue;
    for (const kind of kinds) {
      if (!kindHas(served, kind, def.requires)) {
        const able = served.filter((b) => kindHas(served, b.kind, def.requires!)).map((b) => kindLabel(served, b.kind));
        const acts = able.length > 0 ? `it acts on ${able.join(', ')}` : `no backend kind has ${def.requires.join(', ')}`;
        issues.push({ path: `${path}.${name}`, message: `the ${name} policy cannot act on ${kindLabel(served, kind)}${where} (${acts})`, stage: 'backends' });
      }
    }
  }
}

/** Whether a backend kind has every capability in `required` (a route without a backend has none). */
function kindHas(served: BackendKinds, kind: string, required: readonly string[]): boolean {
  const capabilities = served.find((b) => b.kind === kind)?.capabilities ?? [];
  return required.every((c) => capabilities.includes(c));
}

function kindLabel(served: BackendKinds, kind: string): string {
  if (kind === DIRECT_KIND) return 'routes without a backend';
  return `${served.find((b) => b.kind === kind)?.title ?? kind} backends`;
}
