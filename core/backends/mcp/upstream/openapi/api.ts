import { redactString } from '../../../../telemetry/index.ts';
import { createOutboundGuard } from '../../../../upstream/index.ts';
import type { Ajv2020, ValidateFunction } from 'ajv/dist/2020.js';
import type { McpOpenApiTarget } from '../../../../../sdk-types/openapi.ts';
import { lazy } from '../../../../lazy.ts';
import type { LoadedSpec } from './load.ts';
import { specError } from './load.ts';
import { buildOperations, type OperationTool } from './operations.ts';

// Ajv is loaded when the first OpenAPI target validates arguments.
const ajv2020 = lazy<typeof import('ajv/dist/2020.js')>('ajv/dist/2020.js');
const addFormats = lazy<{ default: (ajv: Ajv2020) => Ajv2020 }>('ajv-formats');

export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;

/** How a call's base URL is chosen, decided once at load. */
interface BaseUrlRule {
  /** A full base URL (config `url`, a server URL, or a host given as URL). */
  fixed?: string;
  /** `host` and `port` without a scheme: http, or https when the route has backend TLS. */
  host?: string;
  port?: number;
  path: string;
}

/**
 * One loaded OpenAPI target: its tools, how to reach the API, and each tool's argument validator (compiled on
 * first use, so a spec of a thousand operations loads without compiling a thousand validators).
 */
export class OpenApiApi {
  readonly title: string;
  readonly version: string;
  readonly tools: ReadonlyMap<string, OperationTool>;
  /** The `tools/list` answer, built once. */
  readonly list: ReadonlyArray<Record<string, unknown>>;
  readonly skipped: ReadonlyArray<{ operation: string; reason: string }>;
  readonly headers: Readonly<Record<string, string>>;
  readonly maxResponseBytes: number;
  /** A digest of the tool list, so a reload that changes nothing tells no client its list changed. */
  readonly fingerprint: string;
  private readonly base: BaseUrlRule;
  /** Base URLs of operations that name their own server (when the config sets neither url nor host). */
  private readonly own = new Map<string, string>();
  private readonly validators = new Map<string, ValidateFunction>();
  private ajv?: Ajv2020;

  constructor(spec: LoadedSpec, config: McpOpenApiTarget, where: string) {
    const info = (spec.doc.info ?? {}) as Record<string, unknown>;
    this.title = String(info.title ?? 'openapi');
    this.version = String(info.version ?? '0');
    const built = buildOperations(spec.doc, spec.version, config);
    this.tools = new Map(built.tools.map((t) => [t.name, t]));
    this.list = built.tools.map((t) => t.tool);
    this.skipped = built.skipped;
    this.headers = { ...config.headers };
    this.maxResponseBytes = config.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.base = baseUrlRule(spec, config, where);
    if (!config.url && !config.host) {
      for (const t of built.tools) {
        if (!t.server || typeof t.server.url !== 'string') continue;
        const url = fillVariables(t.server.url, t.server.variables, config.serverVariables);
        try {
          // Relative to the document's URL, else to the spec's own server.
          const absolute = new URL(url, spec.url ?? (this.base.fixed ? `${this.base.fixed}/` : undefined));
          // A server a fetched spec names elsewhere goes through the outbound-URL guard; refused, the spec's server applies.
          if ((absolute.protocol === 'http:' || absolute.protocol === 'https:') && serverRefusal(spec, absolute) === undefined) this.own.set(t.name, trimSlash(absolute.href));
        } catch {
          // A relative server with nothing to resolve it against: the spec's server applies.
        }
      }
    }
    this.fingerprint = JSON.stringify(this.list);
  }

  /** The URL calls are made under (no trailing slash), http or https by the route's backend TLS for a bare host. */
  baseUrl(tls: boolean, tool?: string): string {
    const own = tool === undefined ? undefined : this.own.get(tool);
    if (own) return own;
    const b = this.base;
    if (b.fixed) return b.fixed;
    // `name`, `name:port`, `[v6]:port`, or a bare IPv6 address (bracketed here).
    const h = b.host!;
    const host = b.port !== undefined ? bracket(h, b.port) : /^\[.*\](:\d+)?$/.test(h) || /^[^:]+(:\d+)?$/.test(h) ? h : `[${h}]`;
    return `${tls ? 'https' : 'http'}://${host}${b.path}`;
  }

  /** Checks a call's arguments against the tool's inputSchema; a message naming the first bad fields, or undefined. */
  invalid(tool: OperationTool, args: unknown): string | undefined {
    let validate = this.validators.get(tool.name);
    if (!validate) {
      this.ajv ??= addFormats().default(new (ajv2020().Ajv2020)({ strict: false, allErrors: true, logger: false, validateFormats: true }));
      validate = this.ajv.compile(tool.tool.inputSchema as object);
      this.validators.set(tool.name, validate);
    }
    if (validate(args ?? {})) return undefined;
    const errors = (validate.errors ?? []).slice(0, 5).map((e) => {
      const field = e.instancePath ? e.instancePath.slice(1).replace(/\//g, '.').replace(/~1/g, '/').replace(/~0/g, '~') : '';
      const missing = e.keyword === 'required' ? String((e.params as { missingProperty?: string }).missingProperty) : undefined;
      const where = missing ? (field ? `${field}.${missing}` : missing) : field || '(arguments)';
      const allowed = e.keyword === 'enum' ? ` (${((e.params as { allowedValues?: unknown[] }).allowedValues ?? []).map((v) => JSON.stringify(v)).join(', ')})` : '';
      return `${where}: ${missing ? 'is required' : e.message}${allowed}`;
    });
    return `invalid arguments: ${errors.join('; ')}`;
  }
}

function bracket(host: string, port?: number): string {
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return port === undefined ? h : `${h}:${port}`;
}

function trimSlash(s: string): string {
  return s.replace(/\/+$/, '');
}

/** The spec's first server URL with its variables filled in (config values over defaults). */
function serverUrl(spec: LoadedSpec, config: McpOpenApiTarget, where: string): string | undefined {
  const server = (spec.doc.servers as Array<Record<string, any>> | undefined)?.[0];
  if (!server || typeof server.url !== 'string') return undefined;
  return fillVariables(server.url, server.variables, config.serverVariables, where);
}

/** A server URL with its `{variables}` replaced: configured values over the spec's defaults. */
function fillVariables(url: string, variables: Record<string, { default?: unknown }> | undefined, configured: Record<string, string> | undefined, where?: string): string {
  const vars: Record<string, string> = { ...Object.fromEntries(Object.entries(variables ?? {}).map(([k, v]) => [k, String(v?.default ?? '')])), ...configured };
  return url.replace(/\{([^}]+)\}/g, (whole: string, name: string) => {
    if (vars[name] !== undefined) return vars[name];
    if (where) throw specError(where, `#/servers/0/url: variable {${name}} has no default; set it in serverVariables`);
    return whole;
  });
}

function baseUrlRule(spec: LoadedSpec, config: McpOpenApiTarget, where: string): BaseUrlRule {
  const server = serverUrl(spec, config, where);
  if (config.url) return { fixed: trimSlash(config.url), path: '' };
  if (config.host) {
    // agentgateway's `host` may be a URL (scheme and path included) or `name[:port]`.
    if (/^https?:\/\//.test(config.host)) {
      const u = new URL(config.host);
      const path = config.path ?? (u.pathname !== '/' ? u.pathname : serverPath(server));
      return { fixed: trimSlash(`${u.protocol}//${u.host}${path}`), path: '' };
    }
    return { host: config.host, port: config.port, path: trimSlash(config.path ?? serverPath(server)) };
  }
  if (!server) throw specError(where, `${'#/servers'}: the spec names no server; set the target's url or host`);
  let absolute: URL;
  try {
    absolute = new URL(server, spec.url);
  } catch {
    throw specError(where, `#/servers/0/url: "${server}" is relative; set the target's url or host`);
  }
  if (absolute.protocol !== 'http:' && absolute.protocol !== 'https:') throw specError(where, `#/servers/0/url: "${server}" is not an http(s) URL`);
  const refused = serverRefusal(spec, absolute);
  if (refused) throw specError(where, `#/servers/0/url: "${redactString(absolute.href)}" in a spec fetched from ${spec.url} ${refused}; set the target's url or host to call it`);
  return { fixed: trimSlash(absolute.href), path: '' };
}

const SERVER_GUARD = createOutboundGuard();

/**
 * Why the gateway will not call a server URL a spec names, or undefined. A spec the operator wrote (a file, inline)
 * names the operator's servers; a spec fetched from a URL is someone else's document, so a server it names on
 * another origin than its own goes through the outbound-URL guard (scheme, credentials, the class of a literal
 * address or `localhost`): a published spec cannot point the gateway at its metadata service or its loopback.
 */
function serverRefusal(spec: LoadedSpec, server: URL): string | undefined {
  if (spec.url === undefined) return undefined;
  if (new URL(spec.url).origin === server.origin) return undefined;
  const verdict = SERVER_GUARD.checkSync(server.href);
  return verdict.ok ? undefined : verdict.reason;
}

function serverPath(server: string | undefined): string {
  if (!server) return '';
  try {
    return new URL(server, 'http://placeholder').pathname;
  } catch {
    return '';
  }
}
