import type { ResolvedConfig, ResolvedRoute } from '../config/index.ts';
import type { HealthBook, Health } from './health.ts';
import { redactSecrets } from './redact.ts';

/** The Overview's picture: binds → listeners → routes → backends/targets, each with its config path. */
export interface PictureTarget {
  name: string;
  kind: string;
  /** Where it lives in the resolved config (`binds[0].listeners[0].routes[1].backends[0]`), for the config view. */
  path: string;
  warmPool?: number;
  /** MCP targets with tool settings: what they change, in a few words (`2 renamed, 1 with fixed arguments, exclude *_delete*`). */
  tools?: string;
  health: Health;
}

export interface PictureBackend {
  name: string;
  kind: string;
  weight: number;
  path: string;
  health?: Health;
  /** MCP backends with toolsets or tool search: which, in a few words (`toolsets readers, admins; tool search (pinned)`). */
  tools?: string;
  targets: PictureTarget[];
}

export interface PictureRoute {
  name: string;
  path: string;
  /** Path matches in short form (`/mcp*`, `=/`, `~^/api`), for the label. */
  matches: string[];
  hostnames: readonly string[];
  policies: string[];
  backends: PictureBackend[];
  /** `mcp`, `a2a`, `http` or `direct`: what the playgrounds offer for it. */
  protocol: string;
  /** The base URL the admin server reaches this route at, over loopback. */
  url: string;
}

export interface PictureListener {
  name: string;
  hostname: string;
  protocol: string;
  path: string;
  policies: string[];
  routes: PictureRoute[];
}

export interface PictureBind {
  key: string;
  address: string;
  port: number;
  protocol: string;
  path: string;
  listeners: PictureListener[];
}

/** `binds[0].listeners[1].routes[2]` from a resolved object's `path` (which may be more verbose). */
const TARGET_KINDS = ['stdio', 'sse', 'mcp', 'openapi'] as const;

function matchLabels(route: ResolvedRoute): string[] {
  return route.matches.map((m) => {
    const p = m.path as { exact?: string; pathPrefix?: string; regex?: string } | undefined;
    const path = p?.exact !== undefined ? `=${p.exact}` : p?.pathPrefix !== undefined ? `${p.pathPrefix}*` : p?.regex !== undefined ? `~${p.regex}` : '/*';
    return m.method ? `${m.method} ${path}` : path;
  });
}

/** The first literal path a client could use for a route: its exact path or path prefix. */
export function routeBasePath(route: ResolvedRoute): string {
  for (const m of route.matches) {
    const p = m.path as { exact?: string; pathPrefix?: string } | undefined;
    if (p?.exact !== undefined) return p.exact;
    if (p?.pathPrefix !== undefined) return p.pathPrefix;
  }
  return '/';
}

function protocolOf(route: ResolvedRoute): string {
  const kind = route.backends[0]?.kind;
  if (kind === 'mcp' || kind === 'a2a') return kind;
  if ((route.policies as Record<string, unknown>).a2a !== undefined) return 'a2a';
  if ((route.policies as Record<string, unknown>).directResponse !== undefined || !kind) return 'direct';
  return kind === 'host' ? 'http' : kind;
}

/** Where the admin server reaches a bind: loopback for a wildcard address. */
export function loopbackHost(address: string): string {
  if (address === '0.0.0.0' || address === '' || address === '*') return '127.0.0.1';
  if (address === '::') return '[::1]';
  return address.includes(':') ? `[${address}]` : address;
}

export function buildPicture(config: ResolvedConfig, ports: readonly number[], health: HealthBook): PictureBind[] {
  return config.binds.map((bind, bi) => {
    const port = ports[bi] ?? bind.port;
    const scheme = bind.protocol === 'HTTPS' ? 'https' : 'http';
    return {
      key: bind.key,
      address: bind.address,
      port,
      protocol: bind.protocol,
      path: `binds[${bi}]`,
      listeners: bind.listeners.map((listener, li) => ({
        name: listener.name,
        hostname: listener.hostname,
        protocol: listener.protocol,
        path: `binds[${bi}].listeners[${li}]`,
        policies: Object.keys(listener.policies),
        routes: listener.routes.map((route, ri) => {
          const routePath = `binds[${bi}].listeners[${li}].routes[${ri}]`;
          return {
            name: route.name,
            path: routePath,
            matches: matchLabels(route),
            hostnames: route.hostnames,
            policies: Object.keys(route.policies),
            protocol: protocolOf(route),
            url: `${scheme}://${loopbackHost(bind.address)}:${port}${routeBasePath(route)}`,
            backends: route.backends.map((b, bk) => {
              const backendPath = `${routePath}.backends[${bk}]`;
              const config = b.config as { targets?: Array<Record<string, unknown>>; agents?: Array<Record<string, unknown>> } | undefined;
              // An A2A backend's agents are its targets: the playground offers them by name.
              const targets = (config?.targets ?? config?.agents ?? []).map((t, ti) => {
                const kind = TARGET_KINDS.find((k) => t[k] !== undefined) ?? Object.keys(t).find((k) => k !== 'name') ?? 'unknown';
                const warmPool = kind === 'stdio' ? ((t.stdio as { warmPool?: number }).warmPool ?? 1) : undefined;
                return {
                  name: String(t.name),
                  kind,
                  path: `${backendPath}.${b.kind}.${config?.targets ? 'targets' : 'agents'}[${ti}]`,
                  ...(warmPool !== undefined ? { warmPool } : {}),
                  ...(t.tools ? { tools: targetToolsLabel(t.tools as TargetTools) } : {}),
                  health: health.of(route.name, String(t.name), kind === 'stdio'),
                };
              });
              return {
                name: b.name,
                kind: b.kind,
                weight: b.weight,
                path: backendPath,
                ...(targets.length === 0 ? { health: health.of(route.name, b.name, false) } : {}),
                ...(backendToolsLabel(b.config) ? { tools: backendToolsLabel(b.config) } : {}),
                targets,
              };
            }),
          };
        }),
      })),
    };
  });
}

/**
 * The resolved config in the shape the picture's paths point into (`binds[i].listeners[j].routes[k].backends[l]`),
 * secrets redacted. Backend entries show their kind's settings under the kind's key, as written.
 */
export function configView(config: ResolvedConfig): unknown {
  return redactSecrets({
    ...config,
    binds: config.binds.map((b) => ({
      ...b,
      listeners: b.listeners.map((l) => ({
        ...l,
        routes: l.routes.map((r) => ({ ...r, backends: r.backends.map((be) => ({ name: be.name, weight: be.weight, [be.kind]: be.config })) })),
      })),
    })),
  });
}

interface TargetTools {
  include?: string[];
  exclude?: string[];
  overrides?: Record<string, { name?: string; description?: string; annotations?: unknown; fixedArguments?: object; defaultArguments?: object }>;
}

/** What a target's tool settings change, for the picture's label. */
function targetToolsLabel(tools: TargetTools): string {
  const o = Object.values(tools.overrides ?? {});
  const count = (n: number, what: string) => (n > 0 ? `${n} ${what}` : '');
  const parts = [
    count(o.filter((x) => x.name !== undefined).length, 'renamed'),
    count(o.filter((x) => x.description !== undefined || x.annotations !== undefined).length, 'redescribed'),
    count(o.filter((x) => x.fixedArguments || x.defaultArguments).length, 'with fixed/default arguments'),
    tools.include ? `include ${tools.include.join(' ')}` : '',
    tools.exclude?.length ? `exclude ${tools.exclude.join(' ')}` : '',
  ];
  return parts.filter(Boolean).join(', ') || 'tool settings';
}

/** An MCP backend's toolsets and tool search, for the picture's label. */
function backendToolsLabel(config: unknown): string {
  const c = config as { toolsets?: Record<string, unknown>; toolSearch?: { list?: string } } | undefined;
  const parts = [c?.toolsets ? `toolsets ${Object.keys(c.toolsets).join(', ')}` : '', c?.toolSearch ? `tool search (${c.toolSearch.list ?? 'all'})` : ''];
  return parts.filter(Boolean).join('; ');
}
