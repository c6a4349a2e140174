import { ErrorCodes } from '../../../errors.ts';
import { isJsonRpcMessage, RpcErrors, rpcError, type JsonRpcId, type JsonRpcMessage, type JsonRpcResponse } from '../../../protocol/jsonrpc.ts';

/**
 * What a remote target sent that is not MCP: not UTF-8, not JSON, not JSON-RPC, an event over the size bound, a
 * body of another content type. `why` says which, for the log and for the client's JSON-RPC error.
 */
export class UpstreamProtocolError extends Error {
  readonly code: string;
  constructor(why: string, code: string = ErrorCodes.MCP_UPSTREAM_INVALID) {
    super(why);
    this.name = 'UpstreamProtocolError';
    this.code = code;
  }
}

/** The JSON-RPC error the waiting client gets when its call's answer cannot be read from `target`. */
export function failedAnswer(id: JsonRpcId, target: string, why: string, code: string = ErrorCodes.MCP_UPSTREAM_INVALID): JsonRpcResponse {
  return rpcError(id, RpcErrors.TARGET_UNAVAILABLE, `target "${target}" ${why}`, { target, code });
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The JSON-RPC messages of one JSON body or SSE event (a message or a batch). Throws UpstreamProtocolError when the
 * text is not JSON or any item is not a JSON-RPC message.
 */
export function parseUpstreamMessages(text: string | Uint8Array): JsonRpcMessage[] {
  let source: string;
  if (typeof text === 'string') source = text;
  else {
    try {
      source = utf8.decode(text);
    } catch {
      throw new UpstreamProtocolError('answered with a body that is not valid UTF-8');
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(source);
  } catch (err) {
    throw new UpstreamProtocolError(`sent a message that is not JSON (${(err as Error).message}): ${preview(source)}`);
  }
  const items = Array.isArray(value) ? value : [value];
  if (items.length === 0) throw new UpstreamProtocolError('sent an empty JSON-RPC batch');
  for (const item of items) if (!isJsonRpcMessage(item)) throw new UpstreamProtocolError(`sent JSON that is not a JSON-RPC message: ${preview(JSON.stringify(item) ?? String(item))}`);
  return items as JsonRpcMessage[];
}

/** The start of what a target sent, for a message: enough to recognise an HTML page or a stack trace. */
export function preview(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 120 ? `${flat.slice(0, 120)}…` : flat;
}

/** The id of a request message, for the answer it waits for. */
export function requestIdOf(message: JsonRpcMessage): JsonRpcId | undefined {
  const m = message as { id?: JsonRpcId | null; method?: unknown };
  return typeof m.method === 'string' && m.id !== undefined && m.id !== null ? m.id : undefined;
}
