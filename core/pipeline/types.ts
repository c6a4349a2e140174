import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { UpstreamContribution } from '../upstream/index.ts';
import type { Logger } from 'pino';
import type { Schema } from '../schema/index.ts';
import type { GatewayError } from '../errors.ts';
import type { Identity } from '../../sdk-types/identity.ts';
import type { RequestVars, StateStore } from '../state/index.ts';
import type { MessageStep } from './message.ts';

/**
 * The fixed phase order of the policy chain. A policy names its phase; the pipeline sorts steps by it, so the
 * order in the config file never changes what runs first. Work on the way back (response headers, CORS headers)
 * is done by the same step after `await next()`.
 */
export const PHASES = [
  'preflight', // cors: answers preflight, decorates every response
  'timeout', // bounds everything after it, the backend call included
  'authentication', // jwt, apiKey, mcpAuthentication
  'rateLimit',
  'requestFilter', // sandboxed TypeScript filters
  'authorization', // Rego
  'responseRewrite', // responseHeaderModifier
  'requestRewrite', // requestHeaderModifier, urlRewrite
  'upstream', // retry, backendTLS, backendAuth: how the backend is called (they contribute `upstream`, see core/upstream)
  'directResponse', // requestRedirect, directResponse: answer instead of a backend
] as const;

export type Phase = (typeof PHASES)[number];

export type HeaderMap = Record<string, string | string[] | undefined>;

/** A response built by a step or a backend. The server writes it once the chain has returned. */
export interface GatewayResponse {
  status: number;
  headers: HeaderMap;
  /** A stream is piped as it arrives; strings and buffers are sent whole. */
  body?: Readable | string | Buffer | null;
  /** Set on responses the gateway made from an error, for the access log. */
  errorCode?: string;
}

export interface RequestContext {
  readonly id: string;
  /** The headers as the client sent them (lower-case names), before any policy changed `requestHeaders`. */
  readonly clientHeaders: Readonly<IncomingHttpHeaders>;
  /** Values one policy hands another within this request, by typed key (see `core/state`). */
  readonly vars: RequestVars;
  readonly startedAt: number;
  readonly scheme: 'http' | 'https';
  readonly clientAddress: string;
  readonly listenerName: string;
  readonly routeName: string;
  /** The part of the path the route's `pathPrefix` matched, for prefix rewrites. */
  readonly matchedPrefix: string | undefined;
  readonly log: Logger;
  readonly signal: AbortSignal;
  method: string;
  /** Request path, without the query string. Rewrites change it. */
  path: string;
  /** Query string including `?`, or ''. */
  search: string;
  /** The Host sent upstream. */
  authority: string;
  /** The request body as it is sent upstream (size-limited), or undefined when the request has none. */
  body: Readable | undefined;
  /**
   * The whole body in one Buffer (empty when there is none), for backends and policies that parse it: collected
   * from the client's chunks without the stream `body` (which is then spent), or read from the body a policy put
   * in its place. Fails like the stream (over the size limit, client gone). Optional so that hand-built contexts
   * (tests) need not have it: use `readRequestBody(ctx)`.
   */
  readBody?(): Promise<Buffer>;
  /** Headers sent upstream (hop-by-hop headers already removed). */
  requestHeaders: HeaderMap;
  /** Set by authentication policies; absent until one has run. */
  identity?: Identity;
  /** Name of the backend that served the request, for logs. */
  backendName?: string;
  response?: GatewayResponse;
  /** Aborts the upstream call (client gone, timeout). */
  abort(reason: GatewayError | Error): void;
  /**
   * Calls `listener` once when the request is aborted (at once if it already was): a plain callback, cheaper on
   * the hot path than a listener on `signal`. Optional so that hand-built contexts (tests) need not have it.
   */
  onAbort?(listener: (reason: Error) => void): void;
  /** Sets the response. A second call is a bug and throws. */
  respond(response: GatewayResponse): void;
  /** Sets a JSON error response from a thrown value. */
  respondError(err: unknown): void;
}

export type Next = () => Promise<void>;
export type Step = (ctx: RequestContext, next: Next) => Promise<void> | void;

/** One client-to-server MCP message (a JSON-RPC request), as policies see it. */
export interface McpMessage {
  /** JSON-RPC method, e.g. `tools/call`. */
  method: string;
  /** The JSON-RPC params as received (read-only: return changes in a decision). */
  params: Record<string, unknown> | undefined;
  /** Owning target, once the multiplexer resolved it. */
  target?: string;
  /** Tool name as the client sees it (with the target prefix), for `tools/call`. */
  tool?: string;
  /**
   * Tool name as the owning target knows it (before the prefix and any rename of the route's tool settings), for
   * `tools/call`; absent for the gateway's own tools (`search_tools`).
   */
  upstreamTool?: string;
  /** Tool arguments, for `tools/call`. */
  arguments?: Record<string, unknown>;
  /** Prompt name, for `prompts/get`. */
  prompt?: string;
  /** Resource URI as the client sees it, for `resources/read` and subscriptions. */
  resourceUri?: string;
  /**
   * The MCP protocol version the client speaks: the one its session negotiated (2025 era), or the one its request
   * declares in `_meta` (2026-07-28 era). The only trace of the era a policy sees.
   */
  protocolVersion?: string;
}

/** A policy's decision on an MCP message. */
export type McpDecision =
  | { action: 'continue'; params?: Record<string, unknown> }
  /** `asUnknown`: answer exactly as if the tool/prompt/resource did not exist (authorization denials). */
  | { action: 'deny'; message: string; code?: number; asUnknown?: boolean };

/** An item of a list result (`tools/list`, `prompts/list`, `resources/list`, `resources/templates/list`). */
export interface McpListItem {
  /** `skill`: a skill of an A2A agent card (name = skill id, target = agent), filtered the same way. */
  kind: 'tool' | 'prompt' | 'resource' | 'resourceTemplate' | 'skill';
  /** Name as the client sees it (tools, prompts, templates). */
  name?: string;
  /** Tool or prompt name as its target knows it (before the prefix and renames). */
  upstreamName?: string;
  /** URI as the client sees it (resources) or URI template (templates). */
  uri?: string;
  target: string;
  /** The item itself, e.g. a tool definition with its input schema. */
  item: Record<string, unknown>;
}

/**
 * What a policy does inside an MCP session. The MCP backend calls these, in phase order, for every JSON-RPC
 * message the client sends (`onRequest`), for every item of a list result (`allowListItem`), and for every
 * result on its way back (`onResult`).
 */
export interface McpPolicyHooks {
  onRequest?(ctx: RequestContext, msg: McpMessage): McpDecision | Promise<McpDecision>;
  allowListItem?(ctx: RequestContext, item: McpListItem): boolean | Promise<boolean>;
  /** May return a replacement result, or a deny (turned into a JSON-RPC error). */
  onResult?(ctx: RequestContext, msg: McpMessage, result: unknown): McpResultDecision | Promise<McpResultDecision>;
}

export type McpResultDecision = { action: 'continue'; result?: unknown } | { action: 'deny'; message: string; code?: number };

/**
 * One client-to-server A2A message, as policies see it: a JSON-RPC request, or a REST (HTTP+JSON) call named by
 * its JSON-RPC equivalent. Carries what a decision needs, never the message content itself (`params` is there for
 * policies that explicitly ask for it).
 */
export interface A2aMessage {
  /** JSON-RPC method as the client named it: v0.3 `message/send`, v1.0 `SendMessage`. */
  method: string;
  /** The JSON-RPC params as received (read-only: return changes in a decision). */
  params: Record<string, unknown> | undefined;
  /** The agent (backend name) the message goes to. */
  agent: string;
  /** The skill the message names, when it names one. */
  skill?: string;
  taskId?: string;
  contextId?: string;
  /** Kind and size in bytes of each part of the message (`text`, `file`, `data`), never their content. */
  parts?: Array<{ kind: string; bytes: number }>;
}

/**
 * What a policy does with A2A traffic: decide each client message, decide each result on its way back, and say
 * whether a skill of an agent card may be shown to (and used by) the caller. A skill is asked as an item of kind
 * `skill` through the same list filtering as MCP list results.
 */
export interface A2aPolicyHooks {
  onRequest?(ctx: RequestContext, msg: A2aMessage): McpDecision | Promise<McpDecision>;
  allowSkill?(ctx: RequestContext, agent: string, skill: Record<string, unknown>): boolean | Promise<boolean>;
  onResult?(ctx: RequestContext, msg: A2aMessage, result: unknown): McpResultDecision | Promise<McpResultDecision>;
}

/**
 * What a built policy contributes: an HTTP step, optional message hooks (MCP now, A2A next; composed into the route's
 * message pipeline in phase order), and resources to free when its runtime is retired.
 */
export interface PolicyInstance {
  step: Step;
  /** Hooks on MCP messages, composed into the message pipeline of routes whose backend speaks MCP. */
  mcp?: McpPolicyHooks;
  /** Hooks on A2A messages, composed into the message pipeline of routes whose backend speaks A2A. */
  a2a?: A2aPolicyHooks;
  /** Hooks on the messages of a plugged-in protocol, by its name (see core/pipeline/protocols.ts). */
  hooks?: Readonly<Record<string, unknown>>;
  /**
   * A protocol-independent message step (rate limits: it reads `message.protocol` itself), composed into the
   * message pipeline of every protocol route. When present, `mcp` and `a2a` are ignored.
   */
  message?: MessageStep;
  /**
   * How the route calls its backends (policies of the `upstream` kind: timeouts, retries, backend TLS,
   * credentials): interceptors built once here, composed by the route into the dispatcher its HTTP and remote
   * MCP backends use. See `core/upstream`.
   */
  upstream?: UpstreamContribution;
  /** Files this instance was built from (found while building, e.g. a bundle's imports): hot reload watches them. */
  files?: readonly string[];
  close?(): Promise<void>;
}

/** What a policy module needs from the gateway at build time. */
export interface PolicyBuildContext {
  /** Directory of the config file, for relative paths. */
  baseDir: string;
  /** Where the policy sits, for messages: `binds[0].listeners[0].routes[1].policies.cors`. */
  path: string;
  /** Connection settings from `upstream`. */
  upstream: { connectTimeoutMs: number; keepAliveTimeoutMs: number; bodyIdleTimeoutMs: number };
  logger: Logger;
  /** State that outlives a reload (JWKS caches, compiled-policy caches, MCP sessions), by typed key and scope. */
  state: StateStore;
  /**
   * The scope id of what this policy is attached to (its route, or its listener for a listener policy): stable
   * across reloads, unique in the gateway. Use it as the scope of state the policy owns.
   */
  scope: string;
  /**
   * The kinds of the route's backends (`host`, `mcp`, `a2a`, ...) for a policy placed on a route; undefined for a
   * listener's policy (shared by routes of several kinds).
   */
  backendKinds?: readonly string[];
}

/**
 * What a backend kind can do, declared by the kind (`BackendDefinition.capabilities`) and required by policies
 * (`PolicyDefinition.requires`), so that neither names the other. The built-in ones:
 * - `http-upstream`: calls HTTP upstreams through the route's composed dispatcher (`RouteUpstream`), so the
 *   upstream policies apply: retries, timeouts, backend TLS, backend credentials.
 * - `http-forward`: forwards the client's HTTP request itself to the upstream, so request rewrites (URL, headers)
 *   and mirroring act on what is sent.
 * - `message-protocol`: speaks a JSON-RPC message protocol; its messages run through the route's message pipeline.
 * - `mcp`: that protocol is MCP (tools, prompts, resources): MCP-specific policies apply.
 * - `a2a`: that protocol is A2A (skills, tasks).
 * - `sessions`: keeps client sessions that outlive one request.
 * A plugged-in kind may declare capabilities of its own for its own policies.
 */
export type BackendCapability = 'http-upstream' | 'http-forward' | 'message-protocol' | 'mcp' | 'a2a' | 'sessions' | (string & {});

/** One built-in or plugged-in policy kind: its config key, phase, schema and factory. */
export interface PolicyDefinition<C = unknown> {
  /** Key under `policies`. */
  name: string;
  phase: Phase;
  schema: Schema;
  /** Whether this policy answers requests itself, so a route with it needs no backend. */
  terminal?: boolean;
  /**
   * The capabilities a route's backend must have for this policy to act on it (see {@link BackendCapability});
   * absent means any backend, and routes without one. Placing it on a route whose backend lacks one is a
   * validation error naming the policy and the kinds it acts on. Policies never list backend kinds.
   */
  requires?: readonly BackendCapability[];
  /** Files the policy reads, so hot reload watches them. */
  files?(config: C, baseDir: string): string[];
  create(config: C, build: PolicyBuildContext): PolicyInstance | Promise<PolicyInstance>;
}

/**
 * A body stream that can hand over its whole content at once when all of it has arrived and nothing has read it
 * yet (the HTTP backend's). The writer then sends it in one write, with its exact length, rather than through a
 * stream's ticks: the common case of a small response.
 */
export interface WholeBody {
  /** The whole body, when it has fully arrived and nothing read it; the stream is then spent. Else undefined. */
  takeWhole(): Buffer | undefined;
}
