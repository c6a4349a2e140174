import { rpcError, RpcErrors, type JsonRpcMessage, type JsonRpcResponse } from './jsonrpc.ts';

/**
 * Checks, at the edge, of what a JSON-RPC envelope check lets through but the protocols behind the gateway do not
 * accept: such a message is answered at once with the right JSON-RPC error, never forwarded to have its sender
 * wait out a timeout (a server that cannot parse it never answers) nor to break the gateway's own serializers.
 */

/** Deepest nesting a message may have: far beyond what MCP and A2A messages use, far below stack limits. */
export const MAX_MESSAGE_DEPTH = 64;

/** Whether a parsed JSON value nests deeper than `max` (iterative: no nesting can overflow the stack). */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth >= max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
  }
  return false;
}

const idOf = (m: JsonRpcMessage) => ('id' in m && (typeof m.id === 'string' || typeof m.id === 'number') ? m.id : null);

/** Why one MCP message is malformed, as the JSON-RPC error to answer, or undefined when it is well-formed. */
export function mcpMessageProblem(m: JsonRpcMessage): JsonRpcResponse | undefined {
  const id = idOf(m);
  if (nestsDeeperThan(m, MAX_MESSAGE_DEPTH)) return rpcError(id, RpcErrors.INVALID_REQUEST, `Invalid Request: the message nests deeper than ${MAX_MESSAGE_DEPTH} levels`);
  if (!('method' in m)) return undefined;
  const params = (m as { params?: unknown }).params;
  if (params === undefined) return undefined;
  // MCP params are always an object (JSON-RPC also allows an array; no MCP method takes one).
  if (Array.isArray(params)) return rpcError(id, RpcErrors.INVALID_PARAMS, `Invalid params: ${m.method.slice(0, 100)} takes an object, not an array`);
  const meta = (params as Record<string, unknown>)._meta;
  if (meta !== undefined && (meta === null || typeof meta !== 'object' || Array.isArray(meta))) return rpcError(id, RpcErrors.INVALID_PARAMS, 'Invalid params: _meta must be an object');
  const token = (meta as Record<string, unknown> | undefined)?.progressToken;
  if (token !== undefined && typeof token !== 'string' && !(typeof token === 'number' && Number.isFinite(token))) {
    return rpcError(id, RpcErrors.INVALID_PARAMS, 'Invalid params: _meta.progressToken must be a string or a number');
  }
  return undefined;
}

/** The error for the first malformed message of a POST (one message or a batch), or undefined when all are fine. */
export function malformedMcpMessage(messages: readonly JsonRpcMessage[]): JsonRpcResponse | undefined {
  for (const m of messages) {
    const problem = mcpMessageProblem(m);
    if (problem) return problem;
  }
  return undefined;
}
