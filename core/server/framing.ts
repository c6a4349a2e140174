import { validateHeaderName, validateHeaderValue } from 'node:http';
import { Readable } from 'node:stream';
import { ErrorCodes, GatewayError } from '../errors.ts';
import type { GatewayResponse, HeaderMap, WholeBody } from '../pipeline/index.ts';

export type { WholeBody } from '../pipeline/types.ts';

/**
 * Framing headers describe one connection or one encoding of the body on the wire, never the message: the
 * transport (node:http, or whoever serves a web Response) sets them. A policy or filter that returns them would
 * make the framing invalid (`content-length` and `transfer-encoding` together, chunked framing around a body that
 * is not chunked), so they are dropped from every response the gateway writes.
 */
const FRAMING = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade']);

/** A response ready for the wire: headers whose framing matches the body, and the body to send (if any). */
export interface FramedResponse {
  status: number;
  /** The response's own headers object when nothing had to change, else a copy: never write to it. */
  headers: HeaderMap;
  body: Readable | string | Buffer | undefined;
}

function isWholeBody(body: Readable): body is Readable & WholeBody {
  return typeof (body as Partial<WholeBody>).takeWhole === 'function';
}

/**
 * Makes a response's framing valid whatever a policy returned: framing headers dropped; `content-length` equal to
 * the length of a string or buffer body, kept for a stream only when it is one well-formed number (a backend's),
 * `0` when there is no body; no body at all for 1xx, 204 and 304. A stream that arrived whole (`WholeBody`) is
 * sent as a buffer. The headers object is not changed: policies may hand out objects they keep; it is copied
 * only when something in it must change, so that the common response is written as it came.
 */
export function frameResponse(method: string, response: GatewayResponse): FramedResponse {
  const status = response.status;
  const source = response.headers;
  let headers = source;
  for (const name in source) {
    if (source[name] === undefined || FRAMING.has(name)) {
      headers = withoutFraming(source);
      break;
    }
  }
  let body = response.body ?? undefined;
  const noBody = status < 200 || status === 204 || status === 304;
  if (noBody) {
    if (body instanceof Readable) body.destroy();
    // A 304 may state the length of the representation it stands for; 1xx and 204 must not have one.
    if (headers['content-length'] !== undefined && (status !== 304 || !isLength(headers['content-length']))) headers = withHeader(headers, source, 'content-length', undefined);
    return { status, headers, body: undefined };
  }
  const length = headers['content-length'];
  if (body instanceof Readable && method !== 'HEAD' && isWholeBody(body)) body = body.takeWhole() ?? body;
  if (body === undefined) {
    // HEAD: the length of what GET would send. Otherwise nothing follows, and the framing must say so.
    if ((method !== 'HEAD' || !isLength(length)) && length !== '0') headers = withHeader(headers, source, 'content-length', '0');
  } else if (body instanceof Readable) {
    if (Array.isArray(length) && length.length > 0 && length.every((l) => l === length[0]) && isLength(length[0])) headers = withHeader(headers, source, 'content-length', length[0]);
    else if (length !== undefined && !isLength(length)) headers = withHeader(headers, source, 'content-length', undefined);
  } else {
    const exact = String(typeof body === 'string' ? Buffer.byteLength(body) : body.length);
    if (length !== exact) headers = withHeader(headers, source, 'content-length', exact);
  }
  return { status, headers, body };
}

function withoutFraming(source: HeaderMap): HeaderMap {
  const out: HeaderMap = {};
  for (const name in source) {
    const value = source[name];
    if (value === undefined || FRAMING.has(name)) continue;
    out[name] = value;
  }
  return out;
}

/** `headers` with one header set (or removed when `value` is undefined): copied first unless it already is a copy. */
function withHeader(headers: HeaderMap, source: HeaderMap, name: string, value: string | undefined): HeaderMap {
  const out = headers === source ? { ...source } : headers;
  if (value === undefined) delete out[name];
  else out[name] = value;
  return out;
}

function isLength(value: string | string[] | undefined): value is string {
  return typeof value === 'string' && value.length > 0 && value.length < 16 && /^[0-9]+$/.test(value);
}

/**
 * The error for a response that cannot be written: an invalid status or header. Backend responses never get here
 * (undici's parser rejects invalid headers, which is a 502), so this is the gateway's own doing: a policy or a
 * plugged-in step set it. Names the header, not its value (it may be a credential).
 */
export function invalidResponseError(response: FramedResponse, cause: unknown): GatewayError {
  if (!Number.isInteger(response.status) || response.status < 100 || response.status > 999) {
    return new GatewayError(ErrorCodes.INTERNAL, `a policy set an invalid response status: ${JSON.stringify(response.status)}`, { cause });
  }
  for (const name in response.headers) {
    try {
      validateHeaderName(name);
      const value = response.headers[name];
      for (const v of Array.isArray(value) ? value : [value]) validateHeaderValue(name, v as string);
    } catch {
      return new GatewayError(ErrorCodes.INTERNAL, `a policy set an invalid response header: ${JSON.stringify(name)}`, { cause });
    }
  }
  return new GatewayError(ErrorCodes.INTERNAL, `the response could not be written: ${(cause as Error)?.message ?? String(cause)}`, { cause });
}
