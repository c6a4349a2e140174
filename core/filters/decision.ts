import { ErrorCodes, GatewayError } from '../errors.ts';

/** A checked HTTP decision. `body` is present only when the filter gave one. */
export type HttpDecision =
  | { action: 'continue'; set: Array<[string, string]>; remove: string[]; body?: { value: unknown } }
  | { action: 'respond'; status: number; headers: Array<[string, string]>; body: { value: unknown } };

export type McpRequestDecision =
  | { action: 'continue'; arguments?: Record<string, unknown>; params?: Record<string, unknown> }
  | { action: 'deny'; message: string; code?: number };

export type McpResponseDecision = { action: 'continue'; result?: { value: unknown } } | { action: 'deny'; message: string; code?: number };

const CONTINUE: HttpDecision = { action: 'continue', set: [], remove: [] };
/** The rules node:http applies when it writes a header: a token name, and a value of tab, visible ASCII and latin-1. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const INVALID_HEADER_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
/**
 * Headers that frame the message or belong to one connection. The gateway frames every body it sends, so a filter
 * that sets or removes one of these is ignored for that header: a response never carries both `transfer-encoding`
 * and `content-length`, and a request is never forwarded with a length that does not match its body.
 */
export const FRAMING_HEADERS: ReadonlySet<string> = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade']);

/**
 * A decision the gateway cannot carry out. Its message is the gateway's own (it names the field and the header, never
 * request data the filter was given), so unlike a filter's thrown message it is shown to the client.
 */
export class InvalidDecisionError extends GatewayError {
  constructor(filter: string, hook: string, why: string) {
    super(ErrorCodes.FILTER_FAILED, `filter "${filter}" ${hook} returned an invalid decision: ${why}`);
  }
}

function invalid(filter: string, hook: string, why: string): GatewayError {
  return new InvalidDecisionError(filter, hook, why);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function headerPairs(v: unknown, filter: string, hook: string, field: string): Array<[string, string]> {
  if (v === undefined) return [];
  if (!isObject(v)) throw invalid(filter, hook, `${field} must be an object of strings`);
  const pairs: Array<[string, string]> = [];
  for (const [k, val] of Object.entries(v)) {
    if (!HEADER_NAME.test(k)) throw invalid(filter, hook, `${field}: invalid header name ${JSON.stringify(k.slice(0, 100))}`);
    if (typeof val !== 'string') throw invalid(filter, hook, `${field}.${k} must be a string, got ${Array.isArray(val) ? 'array' : val === null ? 'null' : typeof val}`);
    if (INVALID_HEADER_VALUE.test(val)) {
      throw invalid(filter, hook, `${field}.${k} must be a string without CR, LF, NUL or other control characters, or characters above U+00FF`);
    }
    const name = k.toLowerCase();
    if (!FRAMING_HEADERS.has(name)) pairs.push([name, val]);
  }
  return pairs;
}

/** Checks what onRequest/onResponse returned: nothing, `continue` with changes, or `respond`. */
export function checkHttpDecision(value: unknown, filter: string, hook: string): HttpDecision {
  if (value === null || value === undefined) return CONTINUE;
  if (!isObject(value)) throw invalid(filter, hook, `expected an object with "action", got ${Array.isArray(value) ? 'array' : typeof value}`);
  if (value.action === 'continue') {
    const headers = value.headers;
    if (headers !== undefined && !isObject(headers)) throw invalid(filter, hook, 'headers must be { set?, remove? }');
    const remove = headers?.remove ?? [];
    if (!Array.isArray(remove) || remove.some((n) => typeof n !== 'string')) throw invalid(filter, hook, 'headers.remove must be an array of strings');
    return {
      action: 'continue',
      set: headerPairs(headers?.set, filter, hook, 'headers.set'),
      remove: (remove as string[]).map((n) => n.toLowerCase()).filter((n) => !FRAMING_HEADERS.has(n)),
      body: 'body' in value && value.body !== undefined ? { value: value.body } : undefined,
    };
  }
  if (value.action === 'respond') {
    const status = value.status;
    // 1xx are interim answers, not a response: a filter answers with a final status.
    if (typeof status !== 'number' || !Number.isInteger(status) || status < 200 || status > 599) {
      throw invalid(filter, hook, `status must be an integer 200-599, got ${JSON.stringify(status)}`);
    }
    return { action: 'respond', status, headers: headerPairs(value.headers, filter, hook, 'headers'), body: { value: value.body ?? '' } };
  }
  throw invalid(filter, hook, `action must be "continue" or "respond", got ${JSON.stringify(value.action)}`);
}

function checkDeny(value: Record<string, unknown>, filter: string, hook: string): { action: 'deny'; message: string; code?: number } {
  if (typeof value.message !== 'string') throw invalid(filter, hook, 'deny needs a "message" string');
  if (value.code !== undefined && (typeof value.code !== 'number' || !Number.isInteger(value.code))) throw invalid(filter, hook, 'code must be an integer');
  return { action: 'deny', message: value.message, code: value.code as number | undefined };
}

/** Checks what onMcpRequest returned. */
export function checkMcpRequestDecision(value: unknown, filter: string, hook: string): McpRequestDecision {
  if (value === null || value === undefined) return { action: 'continue' };
  if (!isObject(value)) throw invalid(filter, hook, 'expected an object with "action"');
  if (value.action === 'deny') return checkDeny(value, filter, hook);
  if (value.action !== 'continue') throw invalid(filter, hook, `action must be "continue" or "deny", got ${JSON.stringify(value.action)}`);
  if (value.arguments !== undefined && !isObject(value.arguments)) throw invalid(filter, hook, 'arguments must be an object');
  if (value.params !== undefined && !isObject(value.params)) throw invalid(filter, hook, 'params must be an object');
  return { action: 'continue', arguments: value.arguments as Record<string, unknown> | undefined, params: value.params as Record<string, unknown> | undefined };
}

/** Checks what onMcpResponse returned. */
export function checkMcpResponseDecision(value: unknown, filter: string, hook: string): McpResponseDecision {
  if (value === null || value === undefined) return { action: 'continue' };
  if (!isObject(value)) throw invalid(filter, hook, 'expected an object with "action"');
  if (value.action === 'deny') return checkDeny(value, filter, hook);
  if (value.action !== 'continue') throw invalid(filter, hook, `action must be "continue" or "deny", got ${JSON.stringify(value.action)}`);
  return { action: 'continue', result: 'result' in value && value.result !== undefined ? { value: value.result } : undefined };
}

export type A2aRequestDecision = { action: 'continue'; params?: Record<string, unknown> } | { action: 'deny'; message: string; code?: number };

/** Checks what onA2aRequest returned: continue (with replacement `params`) or deny. */
export function checkA2aRequestDecision(value: unknown, filter: string, hook: string): A2aRequestDecision {
  if (value === null || value === undefined) return { action: 'continue' };
  if (!isObject(value)) throw invalid(filter, hook, 'expected an object with "action"');
  if (value.action === 'deny') return checkDeny(value, filter, hook);
  if (value.action !== 'continue') throw invalid(filter, hook, `action must be "continue" or "deny", got ${JSON.stringify(value.action)}`);
  if (value.params !== undefined && !isObject(value.params)) throw invalid(filter, hook, 'params must be an object');
  return value.params === undefined ? { action: 'continue' } : { action: 'continue', params: value.params as Record<string, unknown> };
}

/** Checks what onA2aResponse returned: the same shape as onMcpResponse. */
export const checkA2aResponseDecision = checkMcpResponseDecision;
