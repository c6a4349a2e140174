/** JSON-RPC 2.0 as MCP and A2A use it: the message shapes, the standard error codes, and builders. */

export type JsonRpcId = string | number;

export interface JsonRpcRequest {
  jsonrpc: '2.0';
  id: JsonRpcId;
  method: string;
  params?: Record<string, unknown>;
}

export interface JsonRpcNotification {
  jsonrpc: '2.0';
  method: string;
  params?: Record<string, unknown>;
}

export interface JsonRpcError {
  code: number;
  message: string;
  data?: unknown;
}

export interface JsonRpcResponse {
  jsonrpc: '2.0';
  id: JsonRpcId | null;
  result?: unknown;
  error?: JsonRpcError;
}

export type JsonRpcMessage = JsonRpcRequest | JsonRpcNotification | JsonRpcResponse;

/**
 * The first of the gateway's own JSON-RPC error codes, `-32080` to `-32089`: inside JSON-RPC's implementation-defined
 * server-error range (-32000 to -32099) but clear of the codes the protocols behind it define (A2A `-32001` to
 * `-32009`: TaskNotFound, TaskNotCancelable, PushNotificationNotSupported...; MCP `-32000` to `-32002` and
 * `-32042`), so a client never mistakes the gateway's error for its agent's or server's. `data.code` carries the
 * gateway's `PCL_ERR_...` code when there is one.
 */
export const GATEWAY_RPC_CODE_RANGE = { first: -32089, last: -32080 } as const;

export const RpcErrors = {
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
  /** MCP 2025-11-25 URLElicitationRequiredError: the user must first complete `data.elicitations` (URL mode). */
  URL_ELICITATION_REQUIRED: -32042,
  /** The gateway's own: the owning target is down, timed out or closed. */
  TARGET_UNAVAILABLE: -32080,
  /** The gateway's own: the request did not complete within the target's `requestTimeoutMs`. */
  REQUEST_TIMEOUT: -32081,
  /** The gateway's own: a policy denied the message. */
  DENIED: -32082,
  /** The gateway's own: a rate limit refused the message; `data` carries `code` and `retryAfterMs`. */
  RATE_LIMITED: -32083,
  /** MCP 2026-07-28: an HTTP header (MCP-Protocol-Version, Mcp-Method, Mcp-Name) is missing or contradicts the body. */
  HEADER_MISMATCH: -32020,
  /** MCP 2026-07-28: the request needs a client capability its envelope did not declare. */
  MISSING_CLIENT_CAPABILITY: -32021,
  /** MCP 2026-07-28: the request's protocol version is not served; `data` lists `supported` and `requested`. */
  UNSUPPORTED_PROTOCOL_VERSION: -32022,
} as const;

export function isRequest(m: JsonRpcMessage): m is JsonRpcRequest {
  return 'method' in m && 'id' in m && m.id !== undefined && m.id !== null;
}

export function isNotification(m: JsonRpcMessage): m is JsonRpcNotification {
  return 'method' in m && !('id' in m && m.id !== undefined && m.id !== null);
}

export function isResponse(m: JsonRpcMessage): m is JsonRpcResponse {
  return !('method' in m) && ('result' in m || 'error' in m);
}

/**
 * Checks the envelope only: params are the business of whoever handles the method. A request or notification has
 * a string `method`; a response has an `id` and exactly one of `result` and an `error` object with a numeric code
 * and a string message (JSON-RPC 2.0, section 5).
 */
export function isJsonRpcMessage(v: unknown): v is JsonRpcMessage {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const m = v as Record<string, unknown>;
  if (m.jsonrpc !== '2.0') return false;
  if (m.id !== undefined && m.id !== null && typeof m.id !== 'string' && typeof m.id !== 'number') return false;
  if (m.params !== undefined && (typeof m.params !== 'object' || m.params === null)) return false;
  if ('method' in m) return typeof m.method === 'string';
  if (m.id === undefined || 'result' in m === 'error' in m) return false;
  if (!('error' in m)) return true;
  const error = m.error as Record<string, unknown> | null;
  return typeof error === 'object' && error !== null && !Array.isArray(error) && typeof error.code === 'number' && typeof error.message === 'string';
}

export function rpcError(id: JsonRpcId | null, code: number, message: string, data?: unknown): JsonRpcResponse {
  return { jsonrpc: '2.0', id, error: data === undefined ? { code, message } : { code, message, data } };
}

export function rpcResult(id: JsonRpcId, result: unknown): JsonRpcResponse {
  return { jsonrpc: '2.0', id, result };
}

/** A JSON-RPC error raised inside the gateway, answered to the client as is. */
export class RpcFailure extends Error {
  readonly code: number;
  readonly data: unknown;
  constructor(code: number, message: string, data?: unknown) {
    super(message);
    this.name = 'RpcFailure';
    this.code = code;
    this.data = data;
  }
  toError(): JsonRpcError {
    return this.data === undefined ? { code: this.code, message: this.message } : { code: this.code, message: this.message, data: this.data };
  }
}

