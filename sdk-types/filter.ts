/**
 * The filter API: TypeScript the user writes next to `gateway.config.ts`, bundled with esbuild and run in an
 * isolated-vm sandbox. Every hook is synchronous, sees a copy of the data (JSON only) and returns a decision as
 * data. Returning nothing means "continue unchanged".
 */
import type { Identity } from './identity.ts';

/** A JSON value: what crosses into and out of the sandbox. @example { id: 7, tags: ['a'], ok: true } */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * The request as a filter sees it.
 * @example
 * { method: 'POST', path: '/api/orders', query: { dryRun: 'true' }, headers: { 'content-type': 'application/json' }, body: { id: 7 } }
 */
export interface FilterRequest {
  /** Upper-case HTTP method. @example 'POST' */
  method: string;
  /** Path without the query string. @example '/api/orders' */
  path: string;
  /** Query parameters; a repeated name gives an array. @default {} @example { page: '2', tag: ['a', 'b'] } */
  query: Record<string, string | string[]>;
  /** Request headers, lower-case names; repeated headers joined with `, `. @example { 'content-type': 'application/json' } */
  headers: Record<string, string>;
  /**
   * The body parsed as JSON, when the request is JSON (`content-type` `application/json` or `+json`) and no
   * larger than the filter's `maxBodyBytes`; otherwise absent.
   * @default undefined
   * @example { id: 7 }
   */
  body?: JsonValue;
}

/**
 * The response as a response filter sees it.
 * @example { status: 200, headers: { 'content-type': 'application/json' }, body: { email: 'a@b.c' } }
 */
export interface FilterResponse {
  /** HTTP status. @example 200 */
  status: number;
  /** Response headers, lower-case names. @example { 'content-type': 'application/json' } */
  headers: Record<string, string>;
  /** The body parsed as JSON, under the same conditions as the request body. @default undefined */
  body?: JsonValue;
}

/**
 * The MCP message a filter sees in `onMcpRequest` / `onMcpResponse`.
 * @example { method: 'tools/call', tool: 'everything_echo', arguments: { message: 'hi' }, target: 'everything' }
 */
export interface FilterMcpMessage {
  /** JSON-RPC method. @example 'tools/call' */
  method: string;
  /** The JSON-RPC params as received. @default undefined */
  params?: Record<string, JsonValue>;
  /** Owning MCP target. @default undefined (before routing) @example 'everything' */
  target?: string;
  /** Tool name as the client sees it, for `tools/call`. @default undefined @example 'everything_echo' */
  tool?: string;
  /**
   * Tool name as the owning target knows it (without the route's prefix, before renames of the target's
   * `tools.overrides`), for `tools/call`. @default undefined @example 'echo'
   */
  upstreamTool?: string;
  /** Tool arguments, for `tools/call`. @default undefined @example { message: 'hi' } */
  arguments?: Record<string, JsonValue>;
  /** Prompt name, for `prompts/get`. @default undefined @example 'simple_prompt' */
  prompt?: string;
  /** Resource URI, for `resources/read`. @default undefined @example 'demo://resource/static/document/1' */
  resourceUri?: string;
}

/**
 * The A2A message a filter sees in `onA2aRequest` / `onA2aResponse`: the method as the client named it (v0.3 or
 * v1.0; a REST call as its JSON-RPC equivalent), the agent, and what the gateway read from the params.
 * @example { method: 'message/send', agent: 'research', skill: 'summarize', parts: [{ kind: 'text', bytes: 5 }], params: { message: { parts: [{ kind: 'text', text: 'hello' }] } } }
 */
export interface FilterA2aMessage {
  /** JSON-RPC method. @example 'message/send' */
  method: string;
  /** The agent the message goes to. @example 'research' */
  agent: string;
  /** Skill id the message names in `metadata.skill`. @default undefined @example 'summarize' */
  skill?: string;
  /** @default undefined */
  taskId?: string;
  /** @default undefined */
  contextId?: string;
  /** Kind and size in bytes of each message part. @default undefined @example [{ kind: 'text', bytes: 5 }] */
  parts?: Array<{ kind: string; bytes: number }>;
  /** The JSON-RPC params (or REST body) as received. @default undefined */
  params?: Record<string, JsonValue>;
}

/**
 * What every hook receives. `C` is the type of the filter's `config` values from `gateway.config.ts`.
 * @example
 * onRequest(ctx) { ctx.log('seen', { path: ctx.request.path }); }
 */
export interface FilterContextBase<C> {
  /** The `config` given to this filter in `gateway.config.ts` (read-only). @default {} @example { maxItems: 10 } */
  readonly config: C;
  /** Who sent the request, once authentication ran. @default undefined */
  readonly identity?: Identity;
  /** Route name. @example 'api' */
  readonly route: string;
  /** Listener name. @example 'bind8080' */
  readonly listener: string;
  /** Backend name, once known (response hooks). @default undefined @example '127.0.0.1:9000' */
  readonly backend?: string;
  /** The request id (also sent upstream as `x-request-id`). @example '7d3c…' */
  readonly requestId: string;
  /** The request; in MCP hooks, the HTTP request that carried the message (without body). */
  readonly request: FilterRequest;
  /**
   * Writes a line to the gateway log, tagged with the filter's name, route and request id. Capped per call: at most
   * 100 lines and 32 KiB in all; a message is cut at 1000 characters; `fields` whose JSON is over 4096 characters
   * are replaced by `{ truncated, length }`; lines past the caps are counted in one last line.
   * @example ctx.log('denied', { reason: 'tenant' })
   */
  log(message: string, fields?: Record<string, JsonValue>): void;
}

/** Context of `onRequest`. @example onRequest(ctx) { if (!ctx.request.headers['x-tenant']) return { action: 'respond', status: 400 }; } */
export type FilterRequestContext<C> = FilterContextBase<C>;

/** Context of `onResponse`. @example onResponse(ctx) { if (ctx.response.status >= 500) ctx.log('upstream failed'); } */
export interface FilterResponseContext<C> extends FilterContextBase<C> {
  /** The response on its way back. */
  readonly response: FilterResponse;
}

/** Context of `onMcpRequest`. @example onMcpRequest(ctx) { ctx.log(ctx.mcp.method); } */
export interface FilterMcpRequestContext<C> extends FilterContextBase<C> {
  /** The MCP message. */
  readonly mcp: FilterMcpMessage;
}

/** Context of `onMcpResponse`. @example onMcpResponse(ctx) { return { action: 'continue', result: ctx.result }; } */
export interface FilterMcpResponseContext<C> extends FilterMcpRequestContext<C> {
  /** The JSON-RPC result on its way back to the client. */
  readonly result: JsonValue;
}

/** Context of `onA2aRequest`. @example onA2aRequest(ctx) { ctx.log(ctx.a2a.method, { skill: ctx.a2a.skill ?? null }); } */
export interface FilterA2aRequestContext<C> extends FilterContextBase<C> {
  /** The A2A message. */
  readonly a2a: FilterA2aMessage;
}

/** Context of `onA2aResponse` (non-streaming results; stream events pass through as the agent sends them). @example onA2aResponse(ctx) { return { action: 'continue', result: ctx.result }; } */
export interface FilterA2aResponseContext<C> extends FilterA2aRequestContext<C> {
  /** The JSON-RPC result (or REST response body) on its way back to the client. */
  readonly result: JsonValue;
}

/** Header changes a filter may ask for. @example { set: { 'x-tenant': 'acme' }, remove: ['x-debug'] } */
export interface FilterHeaderChanges {
  /** Headers to set (replacing any value). @default {} */
  set?: Record<string, string>;
  /** Header names to remove. @default [] */
  remove?: string[];
}

/**
 * Go on, optionally with changed headers or body (a string is sent as is; any other JSON value is serialized).
 * @example { action: 'continue', headers: { set: { 'x-checked': '1' } }, body: { redacted: true } }
 */
export interface ContinueDecision {
  action: 'continue';
  /** Header changes. @default undefined */
  headers?: FilterHeaderChanges;
  /** Replacement body. @default undefined (unchanged) */
  body?: JsonValue;
}

/**
 * Answer now instead of forwarding (in `onRequest`), or replace the response (in `onResponse`).
 * @example { action: 'respond', status: 403, body: { error: 'tenant not allowed' } }
 */
export interface RespondDecision {
  action: 'respond';
  /** HTTP status, 100-599. @example 403 */
  status: number;
  /** Response headers. @default { 'content-type': 'application/json' } for a non-string body */
  headers?: Record<string, string>;
  /** Body: a string is sent as is, any other JSON value serialized. @default '' */
  body?: JsonValue;
}

/** What `onRequest` / `onResponse` return. Nothing (`undefined`) means continue unchanged. @example { action: 'continue' } */
export type HttpFilterDecision = ContinueDecision | RespondDecision | void;

/**
 * What `onMcpRequest` returns: continue (with changed tool `arguments` or whole `params`), or deny with a
 * JSON-RPC error. Nothing means continue unchanged.
 * @example { action: 'continue', arguments: { message: 'rewritten' } }
 * @example { action: 'deny', message: 'tool not allowed for this tenant' }
 */
export type McpRequestFilterDecision =
  | { action: 'continue'; arguments?: Record<string, JsonValue>; params?: Record<string, JsonValue> }
  | { action: 'deny'; message: string; code?: number }
  | void;

/**
 * What `onMcpResponse` returns: continue (with a replacement `result`), or deny with a JSON-RPC error.
 * @example { action: 'continue', result: { content: [{ type: 'text', text: 'redacted' }] } }
 */
export type McpResponseFilterDecision = { action: 'continue'; result?: JsonValue } | { action: 'deny'; message: string; code?: number } | void;

/**
 * What `onA2aRequest` returns: continue (with replacement `params`), or deny with a JSON-RPC error (a 403 on the
 * REST binding). Nothing means continue unchanged.
 * @example { action: 'deny', message: 'files are not accepted by this agent' }
 */
export type A2aRequestFilterDecision = { action: 'continue'; params?: Record<string, JsonValue> } | { action: 'deny'; message: string; code?: number } | void;

/** What `onA2aResponse` returns: continue (with a replacement `result`), or deny. @example { action: 'continue', result: { redacted: true } } */
export type A2aResponseFilterDecision = McpResponseFilterDecision;

/**
 * A filter: a name and any of six synchronous hooks.
 * @example
 * export default defineFilter<{ header: string }>({
 *   name: 'require-header',
 *   onRequest(ctx) {
 *     if (!ctx.request.headers[ctx.config.header]) return { action: 'respond', status: 400, body: { error: 'missing header' } };
 *   },
 * });
 */
export interface Filter<C = Record<string, JsonValue>> {
  /** Name used in logs and error messages. @default the file name */
  name?: string;
  /** Runs on the request, after authentication and rate limits, before authorization. @default undefined (not run) */
  onRequest?(ctx: FilterRequestContext<C>): HttpFilterDecision;
  /** Runs on the response on its way back (filters of one list in reverse order). @default undefined (not run) */
  onResponse?(ctx: FilterResponseContext<C>): HttpFilterDecision;
  /** Runs on every MCP JSON-RPC request the client sends through an MCP route. @default undefined (not run) */
  onMcpRequest?(ctx: FilterMcpRequestContext<C>): McpRequestFilterDecision;
  /** Runs on every MCP result on its way back to the client. @default undefined (not run) */
  onMcpResponse?(ctx: FilterMcpResponseContext<C>): McpResponseFilterDecision;
  /** Runs on every A2A message the client sends through an A2A route (JSON-RPC or REST). @default undefined (not run) */
  onA2aRequest?(ctx: FilterA2aRequestContext<C>): A2aRequestFilterDecision;
  /** Runs on every non-streaming A2A result on its way back to the client. @default undefined (not run) */
  onA2aResponse?(ctx: FilterA2aResponseContext<C>): A2aResponseFilterDecision;
}

/**
 * Types a filter. It returns its argument unchanged; the file must `export default` it.
 *
 * @example
 * import { defineFilter } from 'portcullis';
 * export default defineFilter({
 *   name: 'no-deletes',
 *   onRequest: (ctx) => (ctx.request.method === 'DELETE' ? { action: 'respond', status: 405 } : undefined),
 * });
 */
export function defineFilter<C = Record<string, JsonValue>>(filter: Filter<C>): Filter<C> {
  return filter;
}

/**
 * Options of the filter test harness (`import { testFilter } from 'portcullis/testing'`): the same bundling,
 * sandbox and limits as in the gateway.
 * @example { config: { tenant: 'acme' }, timeoutMs: 20 }
 */
export interface FilterTestOptions<C = Record<string, JsonValue>> {
  /** The filter's `ctx.config`. @default {} */
  config?: C;
  /** @default 50 */
  timeoutMs?: number;
  /** @default 32 */
  memoryLimitMb?: number;
  /** @default 4194304 */
  maxResultBytes?: number;
  /** Type-check the filter first (needs the `typescript` package). @default true */
  typeCheck?: boolean;
}

/**
 * A synthetic request for the harness; everything has a default.
 * @example { method: 'POST', path: '/orders', headers: { 'x-tenant': 'acme' }, body: { id: 1 } }
 */
export interface SyntheticRequest {
  /** @default 'GET' */
  method?: string;
  /** @default '/' */
  path?: string;
  /** @default {} */
  query?: Record<string, string | string[]>;
  /** Lower-cased by the harness. @default {} */
  headers?: Record<string, string>;
  /** @default undefined */
  body?: JsonValue;
  /** @default undefined (no authentication) */
  identity?: Identity;
  /** @default 'test-route' */
  route?: string;
  /** @default 'test-listener' */
  listener?: string;
}

/** A synthetic response for `onResponse`. @example { status: 200, body: { email: 'a@b.c' } } */
export interface SyntheticResponse {
  /** @default 200 */
  status?: number;
  /** @default { 'content-type': 'application/json' } */
  headers?: Record<string, string>;
  /** @default undefined */
  body?: JsonValue;
}

/** What the harness returns: the decision (never `undefined`: nothing is `{ action: 'continue' }`) and log lines. @example { decision: { action: 'continue' }, logs: [] } */
export interface FilterTestResult<D> {
  decision: Exclude<D, void>;
  logs: Array<{ message: string; fields?: Record<string, JsonValue> }>;
}

/**
 * A filter loaded for tests. A failing hook rejects with an error whose `code` is the gateway's
 * (`PCL_ERR_FILTER_FAILED`, `PCL_ERR_FILTER_TIMEOUT`, ...).
 * @example
 * const f = await testFilter('./filters/tenant.ts', { config: { tenant: 'acme' } });
 * const { decision } = await f.request({ headers: { 'x-tenant': 'other' } });
 * assert.equal(decision.action, 'respond');
 * await f.close();
 */
export interface FilterHarness {
  /** The filter's name. @example 'tenant' */
  readonly name: string;
  /** Hooks the filter defines. @example ['onRequest'] */
  readonly hooks: readonly string[];
  request(request?: SyntheticRequest): Promise<FilterTestResult<HttpFilterDecision>>;
  response(response?: SyntheticResponse, request?: SyntheticRequest): Promise<FilterTestResult<HttpFilterDecision>>;
  mcpRequest(message: FilterMcpMessage, request?: SyntheticRequest): Promise<FilterTestResult<McpRequestFilterDecision>>;
  mcpResponse(message: FilterMcpMessage, result: JsonValue, request?: SyntheticRequest): Promise<FilterTestResult<McpResponseFilterDecision>>;
  a2aRequest(message: FilterA2aMessage, request?: SyntheticRequest): Promise<FilterTestResult<A2aRequestFilterDecision>>;
  a2aResponse(message: FilterA2aMessage, result: JsonValue, request?: SyntheticRequest): Promise<FilterTestResult<A2aResponseFilterDecision>>;
  /** Disposes the sandbox. */
  close(): Promise<void>;
}
