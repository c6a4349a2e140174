import { availableParallelism } from 'node:os';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { backendKindOf, type BackendKinds } from './backend-kinds.ts';
import { routeName as nameOfRoute } from './gateway-schema.ts';
import { resolveAccessLogShape, type ResolvedAccessLogShape, type ResolvedTelemetry, resolveTelemetry } from '../telemetry/index.ts';
import type {
  GatewayConfig,
  PathMatch,
  Policies,
  RouteMatch,
} from '../../sdk-types/config.ts';
import type { SecretSource } from '../../sdk-types/security.ts';

/** The config after validation: defaults filled in, names given, paths absolute, everything frozen. */
export interface ResolvedConfig {
  readonly baseDir: string;
  readonly binds: readonly ResolvedBind[];
  readonly admin: { readonly address: string | false; readonly token?: SecretSource };
  readonly readiness: { readonly address: string | false };
  readonly logging: {
    readonly level: string;
    readonly format: 'json' | 'pretty';
    readonly accessLog: boolean;
    /** The lines' shape (filter, added and removed fields), when `logging.accessLog` is an object. */
    readonly accessLogShape?: ResolvedAccessLogShape;
  };
  readonly limits: { readonly maxRequestBodyBytes: number; readonly maxConnections: number; readonly maxConnectionsPerClient: number; readonly headersTimeoutMs: number; readonly idleTimeoutMs: number };
  readonly upstream: {
    readonly connectTimeoutMs: number;
    readonly bodyIdleTimeoutMs: number;
    readonly keepAliveTimeoutMs: number;
    readonly ejectionMs: number;
  };
  readonly shutdown: { readonly drainTimeoutMs: number };
  /** Metrics, traces, Langfuse and the audit log (see core/telemetry/config.ts). */
  readonly telemetry: ResolvedTelemetry;
  /** Worker processes, with `'auto'` resolved to the number of cores. */
  readonly workers: number;
}

export interface ResolvedBind {
  /** `address:port` as configured, the identity of a bind across reloads. */
  readonly key: string;
  readonly port: number;
  readonly address: string;
  readonly protocol: 'HTTP' | 'HTTPS';
  readonly listeners: readonly ResolvedListener[];
  /** Where this bind sits in the config, for messages. */
  readonly path: string;
}

export interface ResolvedListener {
  readonly name: string;
  readonly hostname: string;
  readonly protocol: 'HTTP' | 'HTTPS';
  readonly tls?: { readonly cert: string; readonly key: string };
  readonly policies: Policies;
  readonly routes: readonly ResolvedRoute[];
  readonly path: string;
}

export interface ResolvedRoute {
  readonly name: string;
  readonly hostnames: readonly string[];
  readonly matches: readonly RouteMatch[];
  readonly policies: Policies;
  readonly backends: readonly ResolvedBackend[];
  readonly path: string;
}

/** One backend entry of a route: its registered kind, the value under that kind's key, a name and a weight. */
export interface ResolvedBackend<C = unknown> {
  readonly kind: string;
  readonly name: string;
  readonly config: C;
  readonly weight: number;
}

export const DEFAULTS = {
  bindAddress: '0.0.0.0',
  adminAddress: '127.0.0.1:15000',
  readinessAddress: '127.0.0.1:15021',
  maxRequestBodyBytes: 10 * 1024 * 1024,
  maxConnections: 4096,
  maxConnectionsPerClient: 256,
  headersTimeoutMs: 10_000,
  idleTimeoutMs: 65_000,
  connectTimeoutMs: 5_000,
  bodyIdleTimeoutMs: 300_000,
  keepAliveTimeoutMs: 60_000,
  ejectionMs: 5_000,
  drainTimeoutMs: 25_000,
} as const;

const MATCH_ALL: readonly RouteMatch[] = Object.freeze([{ path: { pathPrefix: '/' } as PathMatch }]);

/** Fills in defaults on a config that has passed validation against the same backend `kinds`. */
export function resolveConfig(config: GatewayConfig, baseDir: string, kinds: BackendKinds): ResolvedConfig {
  const file = (p: string) => (isAbsolute(p) ? p : resolvePath(baseDir, p));
  const resolved: ResolvedConfig = {
    baseDir,
    binds: config.binds.map((bind, b) => {
      const address = bind.address ?? DEFAULTS.bindAddress;
      const protocol = bind.listeners.some((l) => l.tls || l.protocol === 'HTTPS') ? 'HTTPS' : 'HTTP';
      return {
        key: bind.port === 0 ? `${address}:0#${b}` : `${address}:${bind.port}`,
        port: bind.port,
        address,
        protocol,
        path: `binds[${b}]`,
        listeners: bind.listeners.map((listener, l) => ({
          name: listener.name ?? (bind.listeners.length === 1 ? `bind${bind.port}` : `bind${bind.port}-listener${l}`),
          hostname: listener.hostname ?? '*',
          protocol,
          tls: listener.tls && { cert: file(listener.tls.cert), key: file(listener.tls.key) },
          policies: listener.policies ?? {},
          path: `binds[${b}].listeners[${l}]`,
          routes: listener.routes.map((route, r) => {
            const routeName = nameOfRoute(route, r);
            return {
              name: routeName,
              hostnames: route.hostnames ?? [],
              matches: route.matches && route.matches.length > 0 ? route.matches : MATCH_ALL,
              policies: route.policies ?? {},
              path: `binds[${b}].listeners[${l}].routes[${r}]`,
              backends: (route.backends ?? []).map((backend, i): ResolvedBackend => {
                const kind = backendKindOf(kinds, backend)!;
                const value = (backend as unknown as Record<string, unknown>)[kind];
                const named = kinds.find((k) => k.kind === kind)?.name?.(value, routeName, i);
                return { kind, name: named ?? `${routeName}/${kind}${i}`, config: value, weight: backend.weight ?? 1 };
              }),
            };
          }),
        })),
      };
    }),
    admin: { address: config.admin?.address ?? DEFAULTS.adminAddress, ...(config.admin?.token ? { token: config.admin.token } : {}) },
    readiness: { address: config.readiness?.address ?? DEFAULTS.readinessAddress },
    logging: {
      level: config.logging?.level ?? 'info',
      format: config.logging?.format ?? 'json',
      accessLog: config.logging?.accessLog !== false,
      ...(typeof config.logging?.accessLog === 'object' ? { accessLogShape: resolveAccessLogShape(config.logging.accessLog) } : {}),
    },
    limits: {
      maxRequestBodyBytes: config.limits?.maxRequestBodyBytes ?? DEFAULTS.maxRequestBodyBytes,
      maxConnections: config.limits?.maxConnections ?? DEFAULTS.maxConnections,
      maxConnectionsPerClient: config.limits?.maxConnectionsPerClient ?? DEFAULTS.maxConnectionsPerClient,
      headersTimeoutMs: config.limits?.headersTimeoutMs ?? DEFAULTS.headersTimeoutMs,
      idleTimeoutMs: config.limits?.idleTimeoutMs ?? DEFAULTS.idleTimeoutMs,
    },
    upstream: {
      connectTimeoutMs: config.upstream?.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
      bodyIdleTimeoutMs: config.upstream?.bodyIdleTimeoutMs ?? DEFAULTS.bodyIdleTimeoutMs,
      keepAliveTimeoutMs: config.upstream?.keepAliveTimeoutMs ?? DEFAULTS.keepAliveTimeoutMs,
      ejectionMs: config.upstream?.ejectionMs ?? DEFAULTS.ejectionMs,
    },
    shutdown: { drainTimeoutMs: config.shutdown?.drainTimeoutMs ?? DEFAULTS.drainTimeoutMs },
    telemetry: resolveTelemetry(config, baseDir),
    workers: config.workers === 'auto' ? availableParallelism() : (config.workers ?? 1),
  };
  return deepFreeze(resolved);
}

export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
