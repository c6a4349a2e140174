/**
 * The document a Rego authorization policy sees as `input`, and the decision it returns. The same policy runs for
 * the HTTP request (`input.mcp` absent) and for every MCP message of the request (`input.mcp` present).
 */
import type { Identity } from './identity.ts';

/**
 * The HTTP request, as the gateway received it.
 * @example { method: 'POST', path: '/mcp', headers: { 'content-type': 'application/json' }, clientAddress: '10.0.0.7' }
 */
export interface AuthorizationRequest {
  /** Upper-case HTTP method. @example 'GET' */
  method: string;
  /** Normalized path, without the query string. @example '/api/items' */
  path: string;
  /** Query string without `?`. @default '' @example 'page=2' */
  query: string;
  /**
   * Request headers, lower-case names, without credentials: `authorization`, `cookie`, `proxy-authorization` and
   * the header an authentication policy read its credential from are left out.
   * @default {}
   * @example { 'content-type': 'application/json', 'x-tenant': 'acme' }
   */
  headers: Record<string, string>;
  /** The client's IP address. @example '127.0.0.1' */
  clientAddress: string;
}

/**
 * The MCP message under decision. For list filtering, each listed item is asked as the call it would allow
 * (`tools/call` with `tool`, `prompts/get` with `prompt`, `resources/read` with `resourceUri`) and `listing` is true.
 * @example { method: 'tools/call', target: 'everything', tool: 'echo', arguments: { message: 'hi' }, listing: false }
 */
export interface AuthorizationMcp {
  /** JSON-RPC method. @example 'tools/call' */
  method: string;
  /** The MCP server (target) that owns the tool, prompt or resource, once known. @default undefined @example 'everything' */
  target?: string;
  /** Tool name as the client sees it (`tools/call`). @default undefined @example 'echo' */
  tool?: string;
  /**
   * Tool name as the owning target knows it (`tools/call`, and tools being listed): without the `<target>_` prefix
   * and before any rename of the target's `tools.overrides`. Absent for the gateway's own `search_tools`.
   * @default undefined
   * @example 'search_issues'
   */
  upstreamTool?: string;
  /** Tool arguments (`tools/call`). @default {} @example { message: 'hi' } */
  arguments?: Record<string, unknown>;
  /** Prompt name (`prompts/get`). @default undefined @example 'simple_prompt' */
  prompt?: string;
  /** Resource URI, or URI template for templates (`resources/read`, subscriptions). @default undefined @example 'test://static/resource/1' */
  resourceUri?: string;
  /** True when the gateway is filtering a list result item by item rather than deciding a call. @default false */
  listing: boolean;
  /**
   * The MCP protocol version of the client's message: negotiated by its session's `initialize` (2025 era) or declared
   * in the request's `_meta` (2026-07-28 era). Absent while filtering list items. @default undefined @example '2026-07-28'
   */
  protocolVersion?: string;
}

/**
 * The A2A message under decision (`input.a2a`), or a skill of an agent card being filtered (`listing: true`, asked
 * as a `message/send` naming that skill, so one rule both hides a skill and refuses a message that names it).
 * Carries what a decision needs, never the message content.
 * @example { method: 'message/send', agent: 'research', skill: 'summarize', parts: [{ kind: 'text', bytes: 12 }], listing: false }
 */
export interface AuthorizationA2a {
  /** JSON-RPC method as the client named it (v0.3 or v1.0); for the REST binding, its JSON-RPC equivalent. @example 'message/send' */
  method: string;
  /** The agent (its name on a multi-agent route, else the route name). @example 'research' */
  agent: string;
  /** Skill id the message names in `metadata.skill`, or the card skill being filtered. @default undefined @example 'summarize' */
  skill?: string;
  /** Task id the message belongs to or names. @default undefined @example '3f6c…' */
  taskId?: string;
  /** Context id of the message. @default undefined @example '9a1e…' */
  contextId?: string;
  /** Kind (`text`, `file`, `data`) and size in bytes of each part of the message. @default undefined @example [{ kind: 'text', bytes: 12 }] */
  parts?: Array<{ kind: string; bytes: number }>;
  /** True when the gateway is filtering an agent card's skills rather than deciding a message. @default false */
  listing: boolean;
}

/**
 * `input` of every authorization evaluation.
 * @example
 * {
 *   identity: { kind: 'apiKey', subject: 'readonly-agent', roles: ['readonly'], claims: {} },
 *   request: { method: 'POST', path: '/mcp', query: '', headers: {}, clientAddress: '127.0.0.1' },
 *   listener: 'bind3000', route: 'mcp',
 *   mcp: { method: 'tools/call', target: 'everything', tool: 'echo', arguments: { message: 'hi' }, listing: false },
 * }
 */
export interface AuthorizationInput {
  /** Who is calling; `anonymous` when no authentication policy ran or none matched in `optional` mode. */
  identity: Identity;
  /** The HTTP request that carried the decision's subject (for MCP, the POST with the JSON-RPC message). */
  request: AuthorizationRequest;
  /** Listener name. @example 'bind3000' */
  listener: string;
  /** Route name. @example 'mcp' */
  route: string;
  /** Name of the backend serving the request, once chosen (MCP messages); absent for the HTTP request. @default undefined @example 'mcp' */
  backend?: string;
  /** Present only for decisions on MCP messages. @default undefined @example { method: 'tools/call', tool: 'echo', listing: false } */
  mcp?: AuthorizationMcp;
  /** Present only for decisions on A2A messages and card skills. @default undefined @example { method: 'message/send', agent: 'research', skill: 'summarize', listing: false } */
  a2a?: AuthorizationA2a;
  /**
   * Whether the caller has a per-user upstream credential on this route, when its `backendAuth` is per user:
   * keyed by the `oauth` link's name (true once the user linked the account), or `identityMap` (true when the
   * map has an entry for the caller) or `tokenExchange` (true when the request carries a bearer token to exchange).
   * Never the credential itself. CEL rules see the same as `upstreamCredentials`.
   * @default undefined (the route has no per-user backendAuth)
   * @example { github: false }
   */
  upstreamCredentials?: Record<string, boolean>;
}

/**
 * What the entrypoint rule evaluates to: a boolean, or an object with `allow` and a `reason` sent to the client
 * (in the 403 body, or the JSON-RPC error message). An undefined rule, or anything else, denies.
 * @example true
 * @example { allow: false, reason: 'readonly agents cannot write' }
 */
export type AuthorizationDecision = boolean | { allow: boolean; reason?: string };
