// The two MCP protocol eras at the edge. Legacy (2024-11-05 … 2025-11-25): an `initialize` handshake opens a
// session. Modern (2026-07-28 on): every request carries its version, client info and capabilities in `_meta`
// (the per-request envelope), mirrored in HTTP headers. This file tells them apart and checks a modern request's
// envelope and headers; everything after it sees one message shape.
import type { IncomingHttpHeaders } from 'node:http';
import { RpcErrors, type JsonRpcMessage } from '../../protocol/jsonrpc.ts';
import { PROTOCOL_VERSIONS } from './versions.ts';

/** The modern protocol versions the gateway serves, newest first. */
export const MODERN_VERSIONS = ['2026-07-28'] as const;
/** Every version the gateway speaks, modern then legacy, newest first (`server/discover`'s `supportedVersions`). */
export const ALL_VERSIONS: readonly string[] = [...MODERN_VERSIONS, ...PROTOCOL_VERSIONS];

// The reserved `_meta` keys of the envelope (the SDK's core constants; test/mcp/era.test.ts pins them to it).
export const META_PROTOCOL_VERSION = 'io.modelcontextprotocol/protocolVersion';
export const META_CLIENT_INFO = 'io.modelcontextprotocol/clientInfo';
export const META_CLIENT_CAPABILITIES = 'io.modelcontextprotocol/clientCapabilities';
export const META_LOG_LEVEL = 'io.modelcontextprotocol/logLevel';
export const META_SERVER_INFO = 'io.modelcontextprotocol/serverInfo';
export const META_SUBSCRIPTION_ID = 'io.modelcontextprotocol/subscriptionId';
const ENVELOPE_KEYS = [META_PROTOCOL_VERSION, META_CLIENT_INFO, META_CLIENT_CAPABILITIES, META_LOG_LEVEL];

/** The first modern revision: versions are ISO dates, so a string comparison orders them. */
const FIRST_MODERN = '2026-07-28';

export function isModernVersion(version: string): boolean {
  return version >= FIRST_MODERN;
}

/** What a modern request declared about itself, taken off its params so the message pipeline sees one shape. */
export interface Envelope {
  protocolVersion: string;
  clientInfo?: { name: string; version: string };
  clientCapabilities: Record<string, unknown>;
  logLevel?: string;
}

/** A modern request refused at the edge: HTTP status, JSON-RPC error, and why (logged with `code`). */
export interface EdgeRefusal {
  status: number;
  rpc: { code: number; message: string; data?: unknown };
}

/** Which body field `Mcp-Name` mirrors, per method (SEP-2243, and SEP-2663 for the Tasks extension). */
const NAME_SOURCE: Record<string, string> = {
  'tools/call': 'name',
  'prompts/get': 'name',
  'resources/read': 'uri',
  'tasks/get': 'taskId',
  'tasks/update': 'taskId',
  'tasks/cancel': 'taskId',
};

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function metaOf(message: JsonRpcMessage): Record<string, unknown> | undefined {
  const params = 'params' in message ? message.params : undefined;
  return isObject(params) && isObject(params._meta) ? params._meta : undefined;
}

function header(headers: Readonly<IncomingHttpHeaders>, name: string): string | undefined {
  const v = headers[name];
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined ? undefined : s.replace(/^[ \t]+|[ \t]+$/g, '');
}

/**
 * Whether a POSTed message is a modern one: its params carry the envelope's protocol-version key (the body
 * decides; a proxy that drops headers must not change the era), or, for a message without one, the
 * `MCP-Protocol-Version` header names a modern version (then the envelope is missing and the request is refused).
 */
export function isModernMessage(message: JsonRpcMessage, headers: Readonly<IncomingHttpHeaders>): boolean {
  if (!('method' in message)) return false;
  const meta = metaOf(message);
  if (meta && META_PROTOCOL_VERSION in meta) return true;
  if (message.method === 'initialize') return false;
  const version = header(headers, 'mcp-protocol-version');
  return version !== undefined && isModernVersion(version);
}

const mismatch = (message: string, header: string, body: string): EdgeRefusal => ({
  status: 400,
  rpc: { code: RpcErrors.HEADER_MISMATCH, message: `Header mismatch: ${message}`, data: { mismatch: { header, body } } },
});

/**
 * Checks a modern message's envelope and its mirrored headers, in the SDK's order: a missing or malformed
 * envelope is `-32602`, a header that is missing or contradicts the body `-32020`, then a version the gateway
 * does not serve `-32022` with the supported list; all are HTTP 400. Returns the envelope, or the refusal.
 */
export function readEnvelope(message: JsonRpcMessage & { method: string }, headers: Readonly<IncomingHttpHeaders>): Envelope | EdgeRefusal {
  const meta = metaOf(message) ?? {};
  const missing = [META_PROTOCOL_VERSION, META_CLIENT_CAPABILITIES].filter((k) => !(k in meta));
  if (missing.length > 0) {
    return { status: 400, rpc: { code: RpcErrors.INVALID_PARAMS, message: `Invalid params: the request is missing the required _meta key(s) ${missing.join(', ')}`, data: { envelope: { missing } } } };
  }
  const version = meta[META_PROTOCOL_VERSION];
  if (typeof version !== 'string') return invalidKey(META_PROTOCOL_VERSION, 'expected a string');
  if (!isObject(meta[META_CLIENT_CAPABILITIES])) return invalidKey(META_CLIENT_CAPABILITIES, 'expected an object');
  const info = meta[META_CLIENT_INFO];
  if (info !== undefined && !(isObject(info) && typeof info.name === 'string' && typeof info.version === 'string')) {
    return invalidKey(META_CLIENT_INFO, 'expected { name, version } strings');
  }
  const level = meta[META_LOG_LEVEL];
  if (level !== undefined && typeof level !== 'string') return invalidKey(META_LOG_LEVEL, 'expected a string');
  const isRequest = 'id' in message && message.id !== undefined && message.id !== null;
  const versionHeader = header(headers, 'mcp-protocol-version');
  const methodHeader = header(headers, 'mcp-method');
  if (versionHeader !== undefined && versionHeader !== version) {
    return mismatch(`MCP-Protocol-Version header names ${versionHeader.slice(0, 64)} but the body names ${version}`, versionHeader, version);
  }
  if (methodHeader !== undefined && methodHeader !== message.method) {
    return mismatch(`Mcp-Method header names ${methodHeader.slice(0, 100)} but the body names ${message.method.slice(0, 100)}`, methodHeader, message.method);
  }
  if (isRequest) {
    if (versionHeader === undefined) return mismatch('the required MCP-Protocol-Version header is missing', '(missing)', version);
    if (methodHeader === undefined) return mismatch('the required Mcp-Method header is missing', '(missing)', message.method);
    const field = Object.hasOwn(NAME_SOURCE, message.method) ? NAME_SOURCE[message.method] : undefined;
    const value = field ? (message as { params?: Record<string, unknown> }).params?.[field] : undefined;
    if (field && typeof value === 'string') {
      const nameHeader = header(headers, 'mcp-name');
      if (nameHeader === undefined) return mismatch(`the required Mcp-Name header is missing (the body carries params.${field})`, '(missing)', value);
      const decoded = decodeHeaderValue(nameHeader);
      if (decoded === undefined) return mismatch('the Mcp-Name header carries an invalid Base64 sentinel value', nameHeader.slice(0, 100), value);
      if (decoded !== value) {
        return mismatch(`Mcp-Name header names "${decoded.slice(0, 100)}" but the body carries params.${field}="${value.slice(0, 100)}"`, nameHeader.slice(0, 100), value);
      }
    }
  }
  // Judged after the headers, as the SDK's ladder does (test/mcp/era-codec.test.ts holds the two to one order).
  if (!(MODERN_VERSIONS as readonly string[]).includes(version)) {
    return {
      status: 400,
      rpc: { code: RpcErrors.UNSUPPORTED_PROTOCOL_VERSION, message: 'Unsupported protocol version', data: { supported: [...ALL_VERSIONS], requested: version.slice(0, 64) } },
    };
  }
  return {
    protocolVersion: version,
    clientInfo: info as Envelope['clientInfo'],
    clientCapabilities: meta[META_CLIENT_CAPABILITIES] as Record<string, unknown>,
    logLevel: level as string | undefined,
  };
}

function invalidKey(key: string, problem: string): EdgeRefusal {
  return { status: 400, rpc: { code: RpcErrors.INVALID_PARAMS, message: `Invalid params: invalid _meta envelope: ${key}: ${problem}`, data: { envelope: { key, problem } } } };
}

const CANONICAL_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * An `Mcp-Name` / `Mcp-Param-*` value as the body would carry it: `=?base64?…?=` decoded as UTF-8, anything else
 * as is. Undefined when the sentinel holds no canonical Base64 of valid UTF-8 (the spec requires refusing it).
 */
export function decodeHeaderValue(value: string): string | undefined {
  if (!(value.startsWith('=?base64?') && value.endsWith('?=') && value.length >= 11)) return value;
  const b64 = value.slice(9, -2);
  if (!CANONICAL_BASE64.test(b64)) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(b64, 'base64'));
  } catch {
    return undefined;
  }
}

/** The params without the envelope keys: what the message pipeline and legacy targets see. */
export function withoutEnvelope(params: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!params || !isObject(params._meta)) return params;
  const meta = { ...params._meta };
  for (const k of ENVELOPE_KEYS) delete meta[k];
  const { _meta: _dropped, ...rest } = params;
  return Object.keys(meta).length > 0 ? { ...rest, _meta: meta } : rest;
}

/** A value as an HTTP header carries it: as is when it is plain visible ASCII, else in the Base64 sentinel. */
export function encodeHeaderValue(value: string): string {
  const plain = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/.test(value) && !(value.startsWith('=?base64?') && value.endsWith('?='));
  return plain ? value : `=?base64?${Buffer.from(value, 'utf8').toString('base64')}?=`;
}

/**
 * The headers a 2026-07-28 request mirrors from its body (`Mcp-Method`, and `Mcp-Name` for the methods that name
 * something); none for other versions or for messages that are not requests.
 */
export function mirroredHeaders(message: JsonRpcMessage, version: string | undefined): Record<string, string> | undefined {
  if (version === undefined || !isModernVersion(version) || !('method' in message)) return undefined;
  const out: Record<string, string> = { 'mcp-method': message.method };
  const field = Object.hasOwn(NAME_SOURCE, message.method) ? NAME_SOURCE[message.method] : undefined;
  const value = field ? (message as { params?: Record<string, unknown> }).params?.[field] : undefined;
  if (typeof value === 'string') out['mcp-name'] = encodeHeaderValue(value);
  return out;
}

/** A tool argument mirrored into an `Mcp-Param-{header}` HTTP header (SEP-2243 `x-mcp-header`). */
export interface ParamHeader {
  header: string;
  path: string[];
  numeric: boolean;
}

/** The `x-mcp-header` declarations of a tool's input schema (properties at any depth of nested objects). */
export function paramHeadersOf(inputSchema: unknown, path: string[] = [], depth = 0): ParamHeader[] {
  const props = (inputSchema as { properties?: unknown } | undefined)?.properties;
  if (depth > 8 || typeof props !== 'object' || props === null) return [];
  const out: ParamHeader[] = [];
  for (const [key, schema] of Object.entries(props as Record<string, Record<string, unknown>>)) {
    if (typeof schema !== 'object' || schema === null) continue;
    const header = schema['x-mcp-header'];
    if (typeof header === 'string' && /^[A-Za-z0-9-]+$/.test(header)) out.push({ header, path: [...path, key], numeric: schema.type === 'integer' || schema.type === 'number' });
    out.push(...paramHeadersOf(schema, [...path, key], depth + 1));
  }
  return out;
}

function valueAt(root: unknown, path: readonly string[]): unknown {
  let node = root;
  for (const key of path) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

function headerForm(value: unknown): string | undefined {
  if (typeof value === 'string') return encodeHeaderValue(value);
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'boolean') return String(value);
  return undefined;
}

/** The `Mcp-Param-*` headers a tool call's arguments give (a client of a 2026-07-28 target sends them). */
export function paramHeaders(decls: readonly ParamHeader[], args: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const d of decls) {
    const v = headerForm(valueAt(args, d.path));
    if (v !== undefined) out[`mcp-param-${d.header.toLowerCase()}`] = v;
  }
  return out;
}

/** Checks a tool call's `Mcp-Param-*` headers against its arguments: the HeaderMismatch refusal, or undefined. */
export function checkParamHeaders(decls: readonly ParamHeader[], args: unknown, headers: Readonly<IncomingHttpHeaders>): EdgeRefusal | undefined {
  for (const d of decls) {
    const body = valueAt(args, d.path);
    const name = `Mcp-Param-${d.header}`;
    const given = header(headers, name.toLowerCase());
    if (body === undefined || body === null) continue;
    if (given === undefined) return mismatch(`the body carries ${d.path.join('.')} but the ${name} header is missing`, '(missing)', String(body).slice(0, 100));
    const decoded = decodeHeaderValue(given);
    if (decoded === undefined || /[^\t\x20-\x7e]/.test(given)) return mismatch(`the ${name} header carries invalid characters or an invalid Base64 sentinel value`, given.slice(0, 100), String(body).slice(0, 100));
    const same = d.numeric && typeof body === 'number' ? decoded.trim() !== '' && Number(decoded) === body : decoded === (typeof body === 'string' ? body : String(body));
    if (!same) return mismatch(`the ${name} header names "${decoded.slice(0, 100)}" but the body carries ${d.path.join('.')}=${JSON.stringify(body).slice(0, 100)}`, given.slice(0, 100), String(body).slice(0, 100));
  }
  return undefined;
}
