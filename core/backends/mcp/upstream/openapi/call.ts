import { request, type Dispatcher } from 'undici';
import { GatewayError } from '../../../../errors.ts';
import type { OpenApiApi } from './api.ts';
import { isJsonType, type OperationTool } from './operations.ts';
import { ArgumentError, hasDotSegment, serializeBody, serializeCookie, serializeHeader, serializePath, serializeQuery } from './serialize.ts';

/** How much of an error answer's body an error result quotes. */
export const ERROR_EXCERPT_CHARS = 1024;

export interface CallOptions {
  dispatcher: Dispatcher;
  tls: boolean;
  signal: AbortSignal;
  /** Names the target in resource URIs of binary answers. */
  target: string;
}

export type ToolResult = Record<string, unknown>;

export function errorResult(text: string): ToolResult {
  return { content: [{ type: 'text', text }], isError: true };
}

/** The operation's path, query, headers and cookies from the arguments; an argument it must not send throws. */
function serializeParams(op: OperationTool, args: Record<string, unknown>): { path: string; query: string[]; headers: Record<string, string>; cookies: string[] } {
  let path = op.path;
  const query: string[] = [];
  const headers: Record<string, string> = { accept: op.accept };
  const cookies: string[] = [];
  for (const p of op.params) {
    const value = args[p.key];
    if (value === undefined) continue;
    switch (p.in) {
      case 'path':
        path = path.replaceAll(`{${p.name}}`, serializePath(p, value));
        break;
      case 'query':
        query.push(...serializeQuery(p, value));
        break;
      case 'header':
        headers[p.name.toLowerCase()] = serializeHeader(p, value);
        break;
      case 'cookie':
        cookies.push(...serializeCookie(p, value));
        break;
    }
  }
  // A value of `.` or `..` passes percent-encoding and the URL parser then resolves it: a caller allowed one
  // operation would reach other paths of the upstream.
  if (hasDotSegment(path) && !hasDotSegment(op.path)) throw new ArgumentError('a path parameter makes a "." or ".." path segment');
  return { path, query, headers, cookies };
}

/**
 * Calls the operation behind a tool with validated arguments, through the route's dispatcher (its TLS, time
 * limits, retries and credentials), and turns the answer into a tool result.
 */
export async function callOperation(api: OpenApiApi, op: OperationTool, args: Record<string, unknown>, options: CallOptions): Promise<ToolResult> {
  let parts: ReturnType<typeof serializeParams>;
  try {
    parts = serializeParams(op, args);
  } catch (err) {
    if (err instanceof ArgumentError) return errorResult(`invalid arguments for ${op.name}: ${err.message}`);
    throw err;
  }
  const { path, query, headers, cookies } = parts;
  if (cookies.length > 0) headers.cookie = cookies.join('; ');
  for (const [k, v] of Object.entries(api.headers)) headers[k.toLowerCase()] = v;
  let body: ReturnType<typeof serializeBody>['body'] | undefined;
  if (op.body && args[op.body.key] !== undefined) {
    const s = serializeBody(op.body, args[op.body.key]);
    body = s.body;
    if (s.contentType) headers['content-type'] = s.contentType;
  }
  const url = `${api.baseUrl(options.tls, op.name)}${path}${query.length > 0 ? `?${query.join('&')}` : ''}`;
  let res: Dispatcher.ResponseData;
  try {
    res = await request(url, { method: op.method as Dispatcher.HttpMethod, headers, body, dispatcher: options.dispatcher, signal: options.signal });
  } catch (err) {
    if (err instanceof GatewayError) return errorResult(`${err.code}: ${err.message}`);
    return errorResult(`the call to ${op.method} ${op.path} failed: ${(err as Error).message}`);
  }
  const type = String(res.headers['content-type'] ?? '').toLowerCase();
  const bytes = await readCapped(res, api.maxResponseBytes);
  if (bytes === undefined) {
    return errorResult(`HTTP ${res.statusCode}: the response is larger than ${api.maxResponseBytes} bytes (maxResponseBytes); it was not read`);
  }
  if (res.statusCode < 200 || res.statusCode > 299) {
    const excerpt = bytes.toString('utf8').slice(0, ERROR_EXCERPT_CHARS);
    const more = bytes.length > ERROR_EXCERPT_CHARS ? ` ... (${bytes.length} bytes)` : '';
    return { ...errorResult(`HTTP ${res.statusCode}${excerpt ? `: ${excerpt}${more}` : ''}`), _meta: { 'portcullis/httpStatus': res.statusCode } };
  }
  return successResult(op, res.statusCode, type, bytes, options.target);
}

/** The body, or undefined when it is larger than `max` (reading stops there). */
async function readCapped(res: Dispatcher.ResponseData, max: number): Promise<Buffer | undefined> {
  const declared = Number(res.headers['content-length']);
  if (declared > max) {
    res.body.destroy();
    return undefined;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    size += chunk.length;
    if (size > max) {
      res.body.destroy();
      return undefined;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function isTextual(type: string): boolean {
  return type.startsWith('text/') || /xml|yaml|javascript|x-www-form-urlencoded|csv|graphql/.test(type) || /charset=/.test(type);
}

function successResult(op: OperationTool, status: number, type: string, bytes: Buffer, target: string): ToolResult {
  const mime = type.split(';')[0].trim();
  if (bytes.length === 0) {
    const text = `HTTP ${status}, no content`;
    return op.tool.outputSchema && op.wrapOutput ? { content: [{ type: 'text', text }], structuredContent: { result: null } } : { content: [{ type: 'text', text }] };
  }
  if (isJsonType(mime) || (mime === '' && looksLikeJson(bytes))) {
    const text = bytes.toString('utf8');
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return { content: [{ type: 'text', text }] };
    }
    const isObject = value !== null && typeof value === 'object' && !Array.isArray(value);
    const wrap = op.tool.outputSchema ? op.wrapOutput : !isObject;
    return { content: [{ type: 'text', text }], structuredContent: wrap ? { result: value } : value };
  }
  if (isTextual(mime)) return { content: [{ type: 'text', text: bytes.toString('utf8') }] };
  if (mime.startsWith('image/')) return { content: [{ type: 'image', data: bytes.toString('base64'), mimeType: mime }] };
  if (mime.startsWith('audio/')) return { content: [{ type: 'audio', data: bytes.toString('base64'), mimeType: mime }] };
  return {
    content: [{ type: 'resource', resource: { uri: `openapi://${target}/${op.name}`, mimeType: mime || 'application/octet-stream', blob: bytes.toString('base64') } }],
  };
}

function looksLikeJson(bytes: Buffer): boolean {
  const first = bytes.toString('utf8', 0, Math.min(bytes.length, 64)).trimStart()[0];
  return first === '{' || first === '[';
}
