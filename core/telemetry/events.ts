import { channel, tracingChannel, type Channel, type TracingChannel } from 'node:diagnostics_channel';
import type { IncomingHttpHeaders } from 'node:http';
import type { Identity } from '../../sdk-types/identity.ts';
import { stateKey } from '../state/index.ts';

/**
 * What a policy hands the access log for one request, by CEL variable name (extAuthz sets `extauthz` from its
 * authorizer's answer). The variable name must be one of `ACCESS_LOG_VARIABLES`.
 */
export const LOG_VARIABLES = stateKey<Record<string, unknown>>('telemetry.logVariables');

/**
 * The gateway's telemetry events, published through `node:diagnostics_channel`. The request path publishes; the
 * access log, metrics, traces, Langfuse and the admin UI subscribe. A publisher checks `hasSubscribers` first, so
 * nothing on the hot path pays for a subscriber that is not there.
 *
 * Start/end pairs are TracingChannels (`tracing:portcullis:<name>:start|end|asyncStart|asyncEnd|error`); single
 * facts are plain channels (`portcullis:<name>`). Payload objects are the same object across a trace's events, so a
 * subscriber may store its span on it (under a Symbol of its own).
 */

/** One HTTP request through the gateway, from routing to the last byte of the response. */
export interface RequestEvent {
  id: string;
  method: string;
  /** Normalized path, without the query string. */
  path: string;
  host: string;
  clientAddress: string;
  scheme: 'http' | 'https';
  bind: string;
  listener?: string;
  route?: string;
  backend?: string;
  /** Set when the response ends (or the connection closes). 0 when no status was sent. */
  status?: number;
  errorCode?: string;
  bytesIn?: number;
  bytesOut?: number;
  /** performance.now() at start; `durationMs` is set at the end. */
  startedAt: number;
  durationMs?: number;
  /** Subject of the authenticated identity, once authentication ran. */
  subject?: string;
  /** The authenticated identity (its claims), set with `subject` at the end (the access log's `jwt`/`apiKey`). */
  identity?: Identity;
  /**
   * Variables policies contributed for the access log's expressions (extAuthz's `extauthz`), by variable name;
   * set at the end from `LOG_VARIABLES`.
   */
  logVariables?: Readonly<Record<string, unknown>>;
  /**
   * Which gateway of this process served the request (several may run in one process, e.g. in tests), so that a
   * subscriber tied to one gateway (its access log) sees only that gateway's requests. Absent for `runtime.handle`.
   */
  gateway?: string;
  /** The client's request headers, as received (trace context is read from them). */
  headers?: IncomingHttpHeaders;
  /** Set by the tracing subscriber at start: the ids of the request's server span, for log lines to join on. */
  traceId?: string;
  spanId?: string;
}

/** One attempt to call an HTTP backend (retries publish one each). */
export interface UpstreamAttemptEvent {
  requestId: string;
  route: string;
  backend: string;
  /** 0 for the first attempt. */
  attempt: number;
  method: string;
  origin: string;
  path: string;
  status?: number;
  errorCode?: string;
  /** The failure, when the attempt failed (set before the `error` event). */
  error?: unknown;
  /**
   * Headers a subscriber asks to send with this attempt (W3C `traceparent`, `tracestate`, `baggage`), set during
   * `start`; they replace the client's headers of the same name.
   */
  propagation?: Record<string, string>;
}

/**
 * One JSON-RPC message of a protocol backend, through the message pipeline. `protocol` is a registered message
 * protocol's name; what traces, metrics and the access log add for it is its descriptor's (protocols.ts). The
 * fields below are the ones the built-in protocols fill (MCP: tool, prompt, resource, protocol version; A2A: skill,
 * task, context); a protocol leaves out what it does not have.
 */
export interface MessageEvent {
  requestId: string;
  protocol: string;
  route: string;
  method: string;
  /** JSON-RPC id of the client's request (undefined for notifications). */
  rpcId?: string | number | null;
  sessionId?: string;
  /** MCP: the client's protocol version (its session's, or its request's `_meta` in the 2026-07-28 era). */
  protocolVersion?: string;
  target?: string;
  tool?: string;
  /** MCP `tools/call`: the tool's name as its target knows it (before the prefix and renames). */
  upstreamTool?: string;
  prompt?: string;
  resourceUri?: string;
  /** Set at the end: 'ok', or 'error' with the JSON-RPC error code and message. */
  outcome?: 'ok' | 'error';
  rpcErrorCode?: number;
  errorMessage?: string;
  /** The tool arguments as forwarded; subscribers that export them must redact. */
  arguments?: Record<string, unknown>;
  /** The result as returned to the client (only when someone subscribes). */
  result?: unknown;
  /** A2A: the skill the message names, the task and context it belongs to. */
  skill?: string;
  taskId?: string;
  contextId?: string;
  /** True for a streaming method (A2A `message/stream`, resubscribe): the end event comes when the stream ends. */
  streaming?: boolean;
  /** Subject of the caller's identity, when authentication ran. */
  subject?: string;
  /**
   * Trace context a subscriber asks to forward with the message, set during `start`: MCP puts it in the forwarded
   * `params._meta` (how a stdio server receives it) and HTTP targets also get it as headers.
   */
  propagation?: Record<string, string>;
}

/** A policy's decision (authentication, authorization, rate limit, filter). */
export interface PolicyDecisionEvent {
  requestId: string;
  route: string;
  policy: string;
  /** 'http' for the request, 'message' for a protocol message. */
  level: 'http' | 'message';
  outcome: 'allow' | 'deny' | 'error';
  /** Why, in a few words (never a credential). */
  reason?: string;
  /** MCP/A2A method when `level` is 'message'. */
  method?: string;
  errorCode?: string;
  /** Subject of the caller's identity, when known at the decision. */
  subject?: string;
  /** What a message decision was about (as forwarded): tool, prompt, resource, target. */
  tool?: string;
  /** The tool's name as its target knows it, when it differs from `tool` or is known. */
  upstreamTool?: string;
  prompt?: string;
  resourceUri?: string;
  target?: string;
  /** The rule that decided (a Rego path, a CEL rule), when the policy names it. */
  rule?: string;
  /**
   * The input document the policy evaluated (authorization: JSON text of the `AuthorizationInput`, exactly as the
   * policy saw it; credential headers are never in it). Subscribers that show it redact what may be secret.
   */
  input?: string;
}

/** A sandboxed filter broke a limit, threw, or its host process died, and what the gateway did about it. */
export interface SandboxEvent {
  filter: string;
  route?: string;
  kind: 'failure' | 'replaced' | 'hostExit' | 'hostRestart';
  errorCode?: string;
  message?: string;
  /** Process id of the sandbox process (`hostExit`). */
  pid?: number;
  /** Every filter the sandbox process held (`hostExit`, `hostRestart`). */
  filters?: string[];
}

/** A config reload was attempted. */
export interface ReloadEvent {
  ok: boolean;
  durationMs: number;
  /** Present when `ok` is false. */
  errorCode?: string;
  message?: string;
  files?: readonly string[];
}

/** A protocol session (MCP's) opened or closed. */
export interface SessionEvent {
  event: 'open' | 'close';
  /** The message protocol's name. */
  protocol: string;
  route: string;
  sessionId: string;
  subject?: string;
  reason?: 'delete' | 'idle' | 'shutdown' | 'stream-closed' | 'error';
}

/** A stdio MCP server process started or exited. */
export interface ProcessEvent {
  event: 'start' | 'exit';
  route: string;
  target: string;
  pid?: number;
  pooled?: boolean;
  code?: number | null;
  signal?: string | null;
}

/** A rate limit, quota or concurrency limit decided, or its shared store went down or came back. */
export interface RateLimitEvent {
  kind: 'decision' | 'storeDown' | 'storeUp';
  route?: string;
  requestId?: string;
  /** The limit's name (config-given, or its index path), never the client's key. */
  limit?: string;
  /** 'http' for a request, 'message' for a protocol message. */
  level?: 'http' | 'message';
  outcome?: 'allowed' | 'limited' | 'error';
  store: 'local' | 'redis';
  /** Set when the store failed and the failure mode decided (`failOpen` / `failClosed`). */
  failureMode?: 'failOpen' | 'failClosed';
  message?: string;
}

/**
 * A per-user upstream credential changed (backendAuth `oauth`): a user linked an upstream account, its token was
 * refreshed, an admin or the authorization server revoked the link, or a login callback was refused. Never carries
 * a token or a code.
 */
export interface CredentialLinkEvent {
  event: 'link' | 'refresh' | 'revoke' | 'refused';
  /** The link's name (the upstream account kind, `backendAuth.oauth.name`). */
  link: string;
  /** The user the link belongs to (its subject), when known. */
  subject?: string;
  /** Who did it: the user's own login, the gateway (a refresh, a refused refresh), or an admin. */
  by: 'user' | 'gateway' | 'admin';
  route?: string;
  reason?: string;
  errorCode?: string;
}

/** A connection the gateway refused: its bind, or its client address, already held as many as allowed. */
export interface ConnectionEvent {
  kind: 'refused';
  bind: string;
  reason: 'maxConnections' | 'maxConnectionsPerClient';
}

export const CHANNELS = {
  request: 'portcullis:request',
  upstream: 'portcullis:upstream',
  message: 'portcullis:message',
  policy: 'portcullis:policy',
  sandbox: 'portcullis:sandbox',
  reload: 'portcullis:reload',
  session: 'portcullis:session',
  process: 'portcullis:process',
  rateLimit: 'portcullis:ratelimit',
  connection: 'portcullis:connection',
  credential: 'portcullis:credential',
} as const;

export const requestChannel: TracingChannel<RequestEvent, RequestEvent> = tracingChannel(CHANNELS.request);
export const upstreamChannel: TracingChannel<UpstreamAttemptEvent, UpstreamAttemptEvent> = tracingChannel(CHANNELS.upstream);
export const messageChannel: TracingChannel<MessageEvent, MessageEvent> = tracingChannel(CHANNELS.message);
export const policyChannel: Channel<PolicyDecisionEvent, PolicyDecisionEvent> = channel(CHANNELS.policy) as Channel<PolicyDecisionEvent, PolicyDecisionEvent>;
export const sandboxChannel: Channel<SandboxEvent, SandboxEvent> = channel(CHANNELS.sandbox) as Channel<SandboxEvent, SandboxEvent>;
export const reloadChannel: Channel<ReloadEvent, ReloadEvent> = channel(CHANNELS.reload) as Channel<ReloadEvent, ReloadEvent>;
export const sessionChannel: Channel<SessionEvent, SessionEvent> = channel(CHANNELS.session) as Channel<SessionEvent, SessionEvent>;
export const processChannel: Channel<ProcessEvent, ProcessEvent> = channel(CHANNELS.process) as Channel<ProcessEvent, ProcessEvent>;

export const rateLimitChannel: Channel<RateLimitEvent, RateLimitEvent> = channel(CHANNELS.rateLimit) as Channel<RateLimitEvent, RateLimitEvent>;

export const connectionChannel: Channel<ConnectionEvent, ConnectionEvent> = channel(CHANNELS.connection) as Channel<ConnectionEvent, ConnectionEvent>;

/** Publishes on a plain channel when someone listens; the payload is built only then. */
export const credentialChannel: Channel<CredentialLinkEvent, CredentialLinkEvent> = channel(CHANNELS.credential) as Channel<CredentialLinkEvent, CredentialLinkEvent>;

export function publish<T extends object>(ch: Channel<T, T>, build: () => T): void {
  if (ch.hasSubscribers) ch.publish(build());
}
