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
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function invalid(filter: string, hook: string, why: string): GatewayError {
  return new GatewayError(ErrorCodes.FILTER_FAILED, `filter "${filter}" ${hook} returned an invalid decision: ${why}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function headerPairs(v: unknown, filter: string, hook: string, field: string): Array<[string, string]> {
  if (v === undefined) return [];
  if (!isObject(v)) throw invalid(filter, hook, `${field} must be an object of strings`);
  return Object.entries(v).map(([k, val]) => {
    if (!HEADER_NAME.test(k)) throw invalid(filter, hook, `${field}: invalid header name ${JSON.stringify(k)}`);
    if (typeof val !== 'string' || /[\r\n\0]/.test(val)) throw invalid(filter, hook, `${field}.${k} must be a string without CR, LF or NUL`);
    return [k.toLowerCase(), val];
  });
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
      remove: (remove as string[]).map((n) => n.toLowerCase()),
      body: 'body' in value && value.body !== undefined ? { value: value.body } : undefined,
    };
  }
  if (value.action === 'respond') {
    const status = value.status;
    if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 599) {
      throw invalid(filter, hook, `status must be an integer 100-599, got ${JSON.stringify(status)}`);
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
