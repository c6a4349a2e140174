import { randomUUID } from 'node:crypto';
import { Agent, request } from 'undici';
import { readSseEvents, SseDecodeError } from '../protocol/sse.ts';
import { credentialHeaders, DataPlaneClient, sseData, type Credential, type ExchangeEntry, type RouteTarget } from './dataplane.ts';
import type { AdminObserver, DecisionLine } from './observer.ts';

const CARD_PATHS = ['/.well-known/agent-card.json', '/.well-known/agent.json'];
const STREAM_LIMIT_MS = 120_000;
const insecureLoopback = new Agent({ connect: { rejectUnauthorized: false } });

export interface A2aResult {
  status?: number;
  body?: unknown;
  exchange: ExchangeEntry[];
  decisions: DecisionLine[];
}


function decisions(observer: AdminObserver, client: DataPlaneClient): DecisionLine[] {
  return client.requestIds.flatMap((id) => observer.decisionsOf(id));
}

/** The agent card as the caller sees it through the gateway (the current, then the legacy well-known path). */
export async function a2aCard(target: RouteTarget, credential: Credential, observer: AdminObserver): Promise<A2aResult> {
  const client = new DataPlaneClient(target, credential);
  let last: ExchangeEntry | undefined;
  for (const path of CARD_PATHS) {
    last = await client.send('GET', { path, headers: { accept: 'application/json' } });
    if (last.response && last.response.status !== 404) break;
  }
  await observer.settle();
  return { status: last?.response?.status, body: last?.response?.body ?? last?.error, exchange: client.exchange, decisions: decisions(observer, client) };
}

/** The protocol version the playground speaks: v0.3 (`message/send`) or v1.0 (`SendMessage`). */
export type A2aVersion = '0.3' | '1.0';

/** The JSON-RPC request for one text message, in the shape of the chosen protocol version. */
export function a2aMessage(version: A2aVersion, streaming: boolean, text: string, contextId?: string): Record<string, unknown> {
  const ctx = contextId ? { contextId } : {};
  if (version === '1.0') {
    return {
      jsonrpc: '2.0',
      id: randomUUID(),
      method: streaming ? 'SendStreamingMessage' : 'SendMessage',
      params: { message: { messageId: randomUUID(), role: 'ROLE_USER', parts: [{ text }], ...ctx } },
    };
  }
  return {
    jsonrpc: '2.0',
    id: randomUUID(),
    method: streaming ? 'message/stream' : 'message/send',
    params: { message: { kind: 'message', role: 'user', messageId: randomUUID(), parts: [{ kind: 'text', text }], ...ctx } },
  };
}

const versionHeader = (version: A2aVersion): Record<string, string> => ({ 'a2a-version': version });

export async function a2aSend(target: RouteTarget, credential: Credential, version: A2aVersion, text: string, observer: AdminObserver, contextId?: string): Promise<A2aResult> {
  const client = new DataPlaneClient(target, credential);
  const entry = await client.send('POST', { headers: { accept: 'application/json', ...versionHeader(version) }, body: a2aMessage(version, false, text, contextId) });
  await observer.settle();
  return { status: entry.response?.status, body: entry.response?.body ?? entry.response?.events ?? entry.error, exchange: client.exchange, decisions: decisions(observer, client) };
}

/**
 * `message/stream` (`SendStreamingMessage`) through the gateway, passed on event by event: `onEvent` gets each SSE event's data as it
 * arrives. Ends when the agent ends the stream, the caller goes away (`signal`), or after two minutes.
 */
export async function a2aStream(
  target: RouteTarget,
  credential: Credential,
  version: A2aVersion,
  text: string,
  onEvent: (kind: 'request' | 'status' | 'event' | 'end', data: unknown) => void,
  signal: AbortSignal,
  contextId?: string,
): Promise<string> {
  const requestId = `admin-${randomUUID()}`;
  const body = a2aMessage(version, true, text, contextId);
  onEvent('request', { requestId, url: target.base, body });
  const res = await request(target.base, {
    method: 'POST',
    headers: { ...credentialHeaders(credential), ...(target.host ? { host: target.host } : {}), accept: 'text/event-stream', 'content-type': 'application/json', 'x-request-id': requestId, ...versionHeader(version) },
    body: JSON.stringify(body),
    dispatcher: insecureLoopback,
    signal: AbortSignal.any([signal, AbortSignal.timeout(STREAM_LIMIT_MS)]),
  });
  onEvent('status', { status: res.statusCode, contentType: res.headers['content-type'] });
  if (!String(res.headers['content-type'] ?? '').includes('text/event-stream')) {
    const text = await res.body.text();
    let data: unknown = text;
    try {
      data = JSON.parse(text);
    } catch {
      // not JSON: shown as text
    }
    onEvent('event', data);
    onEvent('end', { requestId });
    return requestId;
  }
  try {
    for await (const e of readSseEvents(res.body)) if (e.data !== '') onEvent('event', sseData(e.data));
  } catch (err) {
    // A stream the codec refuses is shown for what it is; a broken connection ends the call as before.
    if (!(err instanceof SseDecodeError)) throw err;
    onEvent('event', { error: { code: err.code, message: err.message } });
  }
  onEvent('end', { requestId });
  return requestId;
}
