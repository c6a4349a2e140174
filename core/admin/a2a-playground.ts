import { randomUUID } from 'node:crypto';
import { Agent, request } from 'undici';
import { readSseEvents, SseDecodeError } from '../protocol/sse.ts';
import { credentialHeaders, DataPlaneClient, sseData, type Credential, type ExchangeEntry, type RouteTarget } from './dataplane.ts';
import type { AdminObserver, DecisionLine } from './observer.ts';
import { ErrorCodes, GatewayError } from '../errors.ts';

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

/** The protocol version the playground speaks: v0.3 (`message/send`) or v1.0 (`SendMessage`). */
export type A2aVersion = '0.3' | '1.0';
/** How a message is sent: JSON-RPC, or A2A's REST binding (HTTP+JSON). */
export type A2aBinding = 'jsonrpc' | 'rest';

/** What a message is sent with, besides its text. */
export interface A2aSendOptions {
  binding?: A2aBinding;
  /** The skill the message asks for, sent as `metadata.skill` (what the example agents and Rego rules read). */
  skill?: string;
  contextId?: string;
}

/** The paths (on the gateway) of the agent's JSON-RPC and REST endpoints for one protocol version, from its card. */
export interface A2aEndpoints {
  jsonrpc?: string;
  rest?: string;
}

const pathOf = (url: unknown): string | undefined => {
  if (typeof url !== 'string') return undefined;
  try {
    return new URL(url).pathname.replace(/\/$/, '') || '/';
  } catch {
    return url.startsWith('/') ? url : undefined;
  }
};

/**
 * The endpoints a card names for `version`: a v1.0 card's `supportedInterfaces` (`protocolBinding` JSONRPC or
 * HTTP+JSON, for that `protocolVersion`), a v0.3 card's `url` (in its `preferredTransport`, JSON-RPC by default) and
 * `additionalInterfaces` (`transport`). URLs become paths: the playground sends them to the route's own address.
 */
export function a2aEndpoints(card: unknown, version: A2aVersion): A2aEndpoints {
  const out: A2aEndpoints = {};
  if (typeof card !== 'object' || card === null) return out;
  const c = card as Record<string, any>;
  const take = (binding: unknown, url: unknown) => {
    const kind = binding === 'JSONRPC' ? 'jsonrpc' : binding === 'HTTP+JSON' || binding === 'HTTP' ? 'rest' : undefined;
    const path = pathOf(url);
    if (kind && path && out[kind] === undefined) out[kind] = path;
  };
  if (Array.isArray(c.supportedInterfaces)) {
    for (const i of c.supportedInterfaces) if (i && (i.protocolVersion === undefined || i.protocolVersion === version)) take(i.protocolBinding, i.url);
    // A card that only lists other versions' interfaces: any interface of the binding will do.
    for (const i of c.supportedInterfaces) if (i) take(i.protocolBinding, i.url);
  }
  if (typeof c.url === 'string') take(c.preferredTransport ?? 'JSONRPC', c.url);
  if (Array.isArray(c.additionalInterfaces)) for (const i of c.additionalInterfaces) if (i) take(i.transport, i.url);
  return out;
}

async function fetchCard(client: DataPlaneClient, version: A2aVersion): Promise<ExchangeEntry | undefined> {
  let last: ExchangeEntry | undefined;
  for (const path of CARD_PATHS) {
    last = await client.send('GET', { path, headers: { accept: 'application/json', ...versionHeader(version) } });
    if (last.response && last.response.status !== 404) break;
  }
  return last;
}

/**
 * The agent card as the caller sees it through the gateway, in the shape of `version` (the `A2A-Version` header
 * picks it: the gateway answers a v0.3 or a v1.0 card), at the current then the legacy well-known path; with the
 * endpoints it names.
 */
export async function a2aCard(target: RouteTarget, credential: Credential, observer: AdminObserver, version: A2aVersion = '1.0'): Promise<A2aResult & { endpoints: A2aEndpoints }> {
  const client = new DataPlaneClient(target, credential);
  const last = await fetchCard(client, version);
  await observer.settle();
  const body = last?.response?.body ?? last?.error;
  const ok = last?.response?.status === 200;
  return { status: last?.response?.status, body, endpoints: ok ? a2aEndpoints(body, version) : {}, exchange: client.exchange, decisions: decisions(observer, client) };
}

/** The message of one text, in the shape of the protocol version, with the skill as `metadata.skill`. */
function a2aMessageObject(version: A2aVersion, text: string, options: A2aSendOptions): Record<string, unknown> {
  const extra = { ...(options.contextId ? { contextId: options.contextId } : {}), ...(options.skill ? { metadata: { skill: options.skill } } : {}) };
  if (version === '1.0') return { messageId: randomUUID(), role: 'ROLE_USER', parts: [{ text }], ...extra };
  return { kind: 'message', role: 'user', messageId: randomUUID(), parts: [{ kind: 'text', text }], ...extra };
}

/** The JSON-RPC request for one text message, in the shape of the chosen protocol version. */
export function a2aMessage(version: A2aVersion, streaming: boolean, text: string, contextId?: string, skill?: string): Record<string, unknown> {
  const method = version === '1.0' ? (streaming ? 'SendStreamingMessage' : 'SendMessage') : streaming ? 'message/stream' : 'message/send';
  return { jsonrpc: '2.0', id: randomUUID(), method, params: { message: a2aMessageObject(version, text, { contextId, skill }) } };
}

const versionHeader = (version: A2aVersion): Record<string, string> => ({ 'a2a-version': version });

/**
 * The URL of an endpoint path a card names. A card the gateway rewrote (an `a2a` backend) names paths on the gateway,
 * under the route's path: they are used on the route's address. A card that names the agent's own address (an agent
 * behind a plain HTTP route) says nothing about the gateway's paths: the route's path is used.
 */
function endpointUrl(target: RouteTarget, path: string | undefined): string {
  const base = new URL(target.base);
  const prefix = base.pathname.replace(/\/$/, '');
  if (path && (prefix === '' || path === prefix || path.startsWith(`${prefix}/`))) return `${base.origin}${path}`;
  return target.base;
}

/**
 * Where a message goes and what is sent: the endpoint of the chosen binding that the agent's card names (the card
 * is fetched first, so the exchange shows it), else the route's path for JSON-RPC. REST is `POST <rest>/message:send`
 * (`:stream`) with `{ message }` (v0.3: under `/v1`).
 */
async function plan(target: RouteTarget, client: DataPlaneClient, version: A2aVersion, streaming: boolean, text: string, options: A2aSendOptions): Promise<{ url: string; body: unknown }> {
  const binding = options.binding ?? 'jsonrpc';
  const card = await fetchCard(client, version);
  const endpoints = card?.response?.status === 200 ? a2aEndpoints(card.response.body, version) : {};
  if (binding === 'rest') {
    if (!endpoints.rest) throw new GatewayError(ErrorCodes.BAD_REQUEST, `binding: the agent's card (HTTP ${card?.response?.status ?? '—'}) names no HTTP+JSON interface for A2A ${version}; use JSON-RPC`);
    const url = `${endpointUrl(target, endpoints.rest).replace(/\/$/, '')}${version === '0.3' ? '/v1' : ''}/message:${streaming ? 'stream' : 'send'}`;
    return { url, body: { message: a2aMessageObject(version, text, options) } };
  }
  return { url: endpointUrl(target, endpoints.jsonrpc), body: a2aMessage(version, streaming, text, options.contextId, options.skill) };
}

export async function a2aSend(target: RouteTarget, credential: Credential, version: A2aVersion, text: string, observer: AdminObserver, options: A2aSendOptions = {}): Promise<A2aResult> {
  const client = new DataPlaneClient(target, credential);
  const { url, body } = await plan(target, client, version, false, text, options);
  const endpoint = new DataPlaneClient({ ...target, base: url }, credential);
  const entry = await endpoint.send('POST', { headers: { accept: 'application/json', ...versionHeader(version) }, body });
  // One exchange (the card, then the message) and its decisions, as the page shows them.
  client.exchange.push(...endpoint.exchange);
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
  options: A2aSendOptions = {},
): Promise<string> {
  const requestId = `admin-${randomUUID()}`;
  const { url, body } = await plan(target, new DataPlaneClient(target, credential), version, true, text, options);
  onEvent('request', { requestId, url, body });
  const res = await request(url, {
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
