import { randomUUID } from 'node:crypto';
import { Agent, request } from 'undici';
import type { ResolvedConfig } from '../config/index.ts';
import { ErrorCodes, GatewayError } from '../errors.ts';
import { createSseDecoder } from '../protocol/sse.ts';
import { loopbackHost, routeBasePath } from './picture.ts';

/** How the playgrounds present themselves: an API key (in `Authorization: Bearer` or a named header) or a bearer token. */
export interface Credential {
  kind: 'none' | 'apiKey' | 'bearer';
  value?: string;
  /** For an API key sent in its own header (`apiKey.header`). */
  header?: string;
}

/** One HTTP exchange with the data plane, as the playground shows it (credentials masked). */
export interface ExchangeEntry {
  requestId: string;
  request: { method: string; url: string; headers: Record<string, string>; body?: unknown };
  response?: { status: number; headers: Record<string, string>; body?: unknown; events?: unknown[] };
  error?: string;
}

/** Where a route is reached: its bind's loopback URL and, for a named listener, the Host to send. */
export interface RouteTarget {
  route: string;
  base: string;
  host?: string;
}

const insecureLoopback = new Agent({ connect: { rejectUnauthorized: false }, keepAliveTimeout: 1000 });
const TIMEOUT_MS = 30_000;

/** Finds a route by name among the binds of the config; `path` (from the UI) overrides its base path. */
export function routeTarget(config: ResolvedConfig, ports: readonly number[], name: string, path?: string): RouteTarget {
  for (const [bi, bind] of config.binds.entries()) {
    for (const listener of bind.listeners) {
      const route = listener.routes.find((r) => r.name === name);
      if (!route) continue;
      if (path !== undefined && !path.startsWith('/')) throw new GatewayError(ErrorCodes.BAD_REQUEST, `path: must start with "/", got ${JSON.stringify(path)}`);
      const scheme = bind.protocol === 'HTTPS' ? 'https' : 'http';
      const base = `${scheme}://${loopbackHost(bind.address)}:${ports[bi] ?? bind.port}${path ?? routeBasePath(route)}`;
      const host = listener.hostname !== '*' ? listener.hostname.replace(/^\*\./, 'admin.') : undefined;
      return { route: name, base, ...(host ? { host } : {}) };
    }
  }
  throw new GatewayError(ErrorCodes.BAD_REQUEST, `route: no route named ${JSON.stringify(name)} in the running config`);
}

/**
 * Headers a playground caller may not set through `credential.header`: the ones that say who and where the client
 * is (so a caller could dodge per-client limits), how the request is framed, or that the playground sets itself.
 */
const RESERVED_HEADER = /^(host|forwarded|x-forwarded-.*|x-real-ip|x-client-ip|true-client-ip|cf-connecting-ip|via|connection|keep-alive|te|trailer|transfer-encoding|upgrade|content-length|content-type|content-encoding|expect|proxy-.*|x-request-id|traceparent|tracestate|baggage|mcp-session-id|mcp-protocol-version|a2a-version|x-portcullis-.*|cookie)$/i;

export function parseCredential(value: unknown): Credential {
  if (value === undefined || value === null) return { kind: 'none' };
  const c = value as Partial<Credential>;
  if (typeof value !== 'object' || !['none', 'apiKey', 'bearer'].includes(c.kind as string)) {
    throw new GatewayError(ErrorCodes.BAD_REQUEST, 'credential: expected { kind: "none" | "apiKey" | "bearer", value, header? }');
  }
  if (c.kind !== 'none' && (typeof c.value !== 'string' || c.value === '')) throw new GatewayError(ErrorCodes.BAD_REQUEST, `credential.value: expected the ${c.kind === 'apiKey' ? 'API key' : 'token'}`);
  if (c.header !== undefined && (typeof c.header !== 'string' || !/^[A-Za-z0-9-]+$/.test(c.header))) throw new GatewayError(ErrorCodes.BAD_REQUEST, 'credential.header: expected a header name');
  if (c.header !== undefined && RESERVED_HEADER.test(c.header)) {
    throw new GatewayError(ErrorCodes.BAD_REQUEST, `credential.header: ${JSON.stringify(c.header)} is not a credential header (the playground sets it itself, or the gateway reads it as the client's address or framing)`);
  }
  return c as Credential;
}

export function credentialHeaders(c: Credential): Record<string, string> {
  if (c.kind === 'none' || !c.value) return {};
  if (c.kind === 'apiKey' && c.header && c.header.toLowerCase() !== 'authorization') return { [c.header.toLowerCase()]: c.value };
  return { authorization: `Bearer ${c.value}` };
}

const MASKED = /^(authorization|cookie|x-api-key|proxy-authorization)$/i;

/** Headers as the browser may see them: credentials masked, whichever header carried them. */
function masked(headers: Record<string, string>, credential: Credential): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) out[k] = MASKED.test(k) || (credential.header && k === credential.header.toLowerCase()) ? '[redacted]' : v;
  return out;
}

function flat(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && !/^set-cookie$/i.test(k)) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

/** An event's data, parsed as JSON where it is JSON. */
export function sseData(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    return data;
  }
}

/**
 * The `data` of each event of a whole SSE body, parsed as JSON where it is JSON. A body the codec refuses (not
 * UTF-8, an event over the bound) keeps the events before the fault and ends with a line saying why.
 */
export function sseEvents(body: string | Uint8Array): unknown[] {
  const events: unknown[] = [];
  const decoder = createSseDecoder({
    onEvent: (e) => {
      if (e.data !== '') events.push(sseData(e.data));
    },
    onError: (err) => events.push({ error: { code: err.code, message: err.message } }),
  });
  decoder.push(body);
  decoder.end();
  return events;
}

/**
 * A client of the data plane for one playground action: every call goes to the gateway's own bind over loopback,
 * with an `x-request-id` of its own so the decisions taken on it can be picked out of the policy events.
 */
export class DataPlaneClient {
  readonly exchange: ExchangeEntry[] = [];
  readonly target: RouteTarget;
  readonly credential: Credential;
  private readonly headers: Record<string, string>;

  constructor(target: RouteTarget, credential: Credential) {
    this.target = target;
    this.credential = credential;
    this.headers = { ...credentialHeaders(credential), ...(target.host ? { host: target.host } : {}) };
  }

  get requestIds(): string[] {
    return this.exchange.map((e) => e.requestId);
  }

  /** Sends one request and records it; `path` is appended to the route's base URL. */
  async send(method: string, options: { path?: string; headers?: Record<string, string>; body?: unknown; signal?: AbortSignal } = {}): Promise<ExchangeEntry> {
    const requestId = `admin-${randomUUID()}`;
    const url = this.target.base.replace(/\/$/, '') + (options.path ?? '') || '/';
    const headers: Record<string, string> = { ...this.headers, ...options.headers, 'x-request-id': requestId };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const entry: ExchangeEntry = { requestId, request: { method, url, headers: masked(headers, this.credential), ...(options.body !== undefined ? { body: options.body } : {}) } };
    this.exchange.push(entry);
    try {
      const res = await request(url, {
        method: method as 'GET',
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        dispatcher: insecureLoopback,
        signal: options.signal ?? AbortSignal.timeout(TIMEOUT_MS),
      });
      const type = String(res.headers['content-type'] ?? '');
      const response: ExchangeEntry['response'] = { status: res.statusCode, headers: flat(res.headers) };
      const bytes = new Uint8Array(await res.body.arrayBuffer());
      const text = type.includes('text/event-stream') ? '' : new TextDecoder().decode(bytes);
      if (type.includes('text/event-stream')) response.events = sseEvents(bytes);
      else if (text) {
        try {
          response.body = JSON.parse(text);
        } catch {
          response.body = text.length > 64 * 1024 ? `${text.slice(0, 64 * 1024)}…` : text;
        }
      }
      entry.response = response;
    } catch (err) {
      entry.error = (err as Error).message;
    }
    return entry;
  }
}
