import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCodes, GatewayError } from '../errors.ts';
import { encodeSseComment, encodeSseEvent } from '../protocol/sse.ts';

/** Admin request bodies are small JSON documents (a tool's arguments, a policy input). */
const MAX_BODY_BYTES = 1024 * 1024;

export function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, null, 2);
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  res.end(text);
}

export function errorJson(res: ServerResponse, err: unknown): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  if (err instanceof GatewayError) return json(res, err.status, err.toJSON());
  json(res, 500, { error: { code: ErrorCodes.INTERNAL, message: (err as Error)?.message ?? String(err) } });
}

/** Reads a JSON object body; a body that is too large, not JSON or not an object is a 400. */
export async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new GatewayError(ErrorCodes.BODY_TOO_LARGE, `admin request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
  } catch (err) {
    throw new GatewayError(ErrorCodes.BAD_REQUEST, `admin request body is not JSON: ${(err as Error).message}`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new GatewayError(ErrorCodes.BAD_REQUEST, 'admin request body must be a JSON object');
  return value as Record<string, unknown>;
}

/** A field of a request body that must be a non-empty string. */
export function stringField(body: Record<string, unknown>, name: string, optional = false): string | undefined {
  const v = body[name];
  if (v === undefined && optional) return undefined;
  if (typeof v !== 'string' || v === '') throw new GatewayError(ErrorCodes.BAD_REQUEST, `${name}: expected a non-empty string, got ${v === undefined ? 'nothing' : JSON.stringify(v)}`);
  return v;
}

/** Unsent bytes an SSE client may fall behind by before its events are dropped. */
const MAX_BUFFERED_BYTES = 1024 * 1024;

/** An SSE response: `send(event, data)` writes one event; a comment every 15 s keeps proxies from cutting it. */
export function openSse(req: IncomingMessage, res: ServerResponse, onClose: () => void): (event: string, data: unknown) => void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  res.write(encodeSseComment('connected'));
  const keepAlive = setInterval(() => res.write(encodeSseComment('keep-alive')), 15_000);
  keepAlive.unref();
  const close = () => {
    clearInterval(keepAlive);
    onClose();
  };
  req.once('close', close);
  res.once('close', close);
  // A client that reads slower than events come (a tab in the background) must not grow the gateway's memory:
  // past MAX_BUFFERED_BYTES unsent, events are dropped, and the client is told how many once it catches up.
  let dropped = 0;
  res.on('drain', () => {
    if (dropped === 0 || res.writableEnded) return;
    res.write(encodeSseEvent({ event: 'dropped', data: JSON.stringify({ count: dropped }) }));
    dropped = 0;
  });
  return (event, data) => {
    if (res.writableEnded) return;
    if (res.writableLength > MAX_BUFFERED_BYTES) {
      dropped++;
      return;
    }
    res.write(encodeSseEvent({ event, data: JSON.stringify(data) ?? 'null' }));
  };
}
