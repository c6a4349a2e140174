import type { AuthorizationA2a, AuthorizationInput, AuthorizationMcp, AuthorizationRequest } from '../../sdk-types/authorization.ts';
import type { Identity } from '../../sdk-types/identity.ts';
import type { A2aMessage, McpListItem, McpMessage, RequestContext } from '../../core/pipeline/index.ts';
import type { InputRefs } from '../../core/rego/index.ts';
import { stateKey } from '../../core/state/index.ts';
import { UPSTREAM_CREDENTIALS } from '../../core/pipeline/index.ts';
import { isSecretHeader } from './secret-headers.ts';

const ANONYMOUS: Identity = Object.freeze({ kind: 'anonymous', subject: '', roles: [], claims: {} }) as Identity;

/**
 * One base document per request, built and serialized once: the HTTP decision, every MCP message and every listed
 * item of the request reuse it, and only the small `mcp` part is serialized per decision. It holds only what the
 * policy reads (`refs`): a policy that never names the request headers never gets them copied.
 */
const BASE_INPUT = stateKey<{ identity: Identity; backend: string | undefined; refs: InputRefs; json: string }>('authorization.baseInput');

type Doc = Record<string, unknown>;

/**
 * Sets a key on a plain object. `__proto__` (a key a policy may name) is defined as an own key rather than assigned,
 * which would set the prototype; plain objects rather than null-prototype ones, which V8 keeps in slow dictionary
 * mode (several µs more to build and serialize per request).
 */
function put(out: Doc, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  else out[key] = value;
}

/** `value` cut down to the paths in `refs` (anything but a plain object is kept whole). */
function pick(value: unknown, refs: InputRefs): unknown {
  if (refs === true || typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const out: Doc = {};
  for (const key of Object.keys(refs)) {
    if (!Object.hasOwn(value, key)) continue;
    const v = (value as Doc)[key];
    if (v !== undefined) put(out, key, pick(v, refs[key]));
  }
  return out;
}

function requestHeaders(ctx: RequestContext): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name in ctx.clientHeaders) {
    const value = ctx.clientHeaders[name];
    if (value === undefined || isSecretHeader(ctx, name)) continue;
    headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

/** `input.request`, or only the fields of it the policy reads. */
function requestPart(ctx: RequestContext, refs: InputRefs): Partial<AuthorizationRequest> {
  const part = (key: keyof AuthorizationRequest): unknown => {
    switch (key) {
      case 'method':
        return ctx.method;
      case 'path':
        return ctx.path;
      case 'query':
        return ctx.search.startsWith('?') ? ctx.search.slice(1) : ctx.search;
      case 'headers':
        return requestHeaders(ctx);
      case 'clientAddress':
        return ctx.clientAddress;
    }
  };
  if (refs === true) {
    return { method: ctx.method, path: ctx.path, query: part('query') as string, headers: requestHeaders(ctx), clientAddress: ctx.clientAddress };
  }
  const out: Doc = {};
  for (const key of Object.keys(refs)) {
    const v = part(key as keyof AuthorizationRequest);
    if (v !== undefined) put(out, key, pick(v, refs[key]));
  }
  return out;
}

/** The `input` for the HTTP request (no `mcp`): all of it, or the parts in `refs`. */
export function httpInput(ctx: RequestContext, refs: InputRefs = true): AuthorizationInput {
  const identity = ctx.identity ?? ANONYMOUS;
  if (refs === true) {
    const input: AuthorizationInput = { identity, request: requestPart(ctx, true) as AuthorizationRequest, listener: ctx.listenerName, route: ctx.routeName };
    if (ctx.backendName !== undefined) input.backend = ctx.backendName;
    const credentials = ctx.vars.get(UPSTREAM_CREDENTIALS);
    if (credentials !== undefined) input.upstreamCredentials = credentials;
    return input;
  }
  const out: Doc = {};
  for (const key of Object.keys(refs)) {
    let v: unknown;
    if (key === 'identity') v = pick(identity, refs.identity);
    else if (key === 'request') v = requestPart(ctx, refs.request);
    else if (key === 'listener') v = ctx.listenerName;
    else if (key === 'route') v = ctx.routeName;
    else if (key === 'backend') v = ctx.backendName;
    else if (key === 'upstreamCredentials') v = ctx.vars.get(UPSTREAM_CREDENTIALS);
    // Anything else (`mcp`, `a2a`, names the gateway does not set) is not part of the HTTP request's input.
    if (v !== undefined) put(out, key, v);
  }
  return out as unknown as AuthorizationInput;
}

/**
 * `httpInput` as JSON, cached for the request: rebuilt once the identity changed since, or the backend (chosen
 * after the HTTP decision) when the policy reads it.
 */
export function httpInputJson(ctx: RequestContext, refs: InputRefs = true): string {
  const identity = ctx.identity ?? ANONYMOUS;
  const cached = ctx.vars.get(BASE_INPUT);
  if (cached && cached.identity === identity && cached.refs === refs && (cached.backend === ctx.backendName || !readsKey(refs, 'backend'))) return cached.json;
  const json = JSON.stringify(httpInput(ctx, refs));
  ctx.vars.set(BASE_INPUT, { identity, backend: ctx.backendName, refs, json });
  return json;
}

/**
 * The base document plus one message part (`mcp` or `a2a`), spliced as text: the base never has that key. A policy
 * that does not read the part gets the base document itself, so it decides the message as it decided the request
 * (and, when the policy is pure, that decision is reused rather than evaluated again).
 */
function withPart(ctx: RequestContext, refs: InputRefs, key: 'mcp' | 'a2a', part: object): string {
  const base = httpInputJson(ctx, refs);
  if (refs !== true && !Object.hasOwn(refs, key)) return base;
  const json = JSON.stringify(refs === true ? part : pick(part, refs[key]));
  return base.length === 2 ? `{"${key}":${json}}` : `${base.slice(0, -1)},"${key}":${json}}`;
}

/** Whether the policy reads a top-level key of its input at all. */
function readsKey(refs: InputRefs, key: string): boolean {
  return refs === true || Object.hasOwn(refs, key);
}

/** Whether the policy's decision can depend on a message part at all (else `withPart` returns the base document). */
export function readsPart(refs: InputRefs, key: 'mcp' | 'a2a'): boolean {
  return readsKey(refs, key);
}

export function mcpMessageInput(ctx: RequestContext, msg: McpMessage, refs: InputRefs = true): string {
  if (!readsPart(refs, 'mcp')) return httpInputJson(ctx, refs);
  const mcp: AuthorizationMcp = { method: msg.method, listing: false };
  if (msg.target !== undefined) mcp.target = msg.target;
  if (msg.tool !== undefined) mcp.tool = msg.tool;
  if (msg.upstreamTool !== undefined) mcp.upstreamTool = msg.upstreamTool;
  if (msg.arguments !== undefined) mcp.arguments = msg.arguments;
  if (msg.prompt !== undefined) mcp.prompt = msg.prompt;
  if (msg.resourceUri !== undefined) mcp.resourceUri = msg.resourceUri;
  if (msg.protocolVersion !== undefined) mcp.protocolVersion = msg.protocolVersion;
  return withPart(ctx, refs, 'mcp', mcp);
}

/** A listed item is asked as the call it would let the client make, so one rule both hides and refuses. */
export function mcpListItemInput(ctx: RequestContext, item: McpListItem, refs: InputRefs = true): string {
  if (!readsPart(refs, 'mcp')) return httpInputJson(ctx, refs);
  const mcp: AuthorizationMcp = { method: 'tools/call', target: item.target, listing: true };
  if (item.kind === 'tool') {
    mcp.tool = item.name;
    if (item.upstreamName !== undefined) mcp.upstreamTool = item.upstreamName;
  } else if (item.kind === 'prompt') {
    mcp.method = 'prompts/get';
    mcp.prompt = item.name;
  } else {
    mcp.method = 'resources/read';
    mcp.resourceUri = item.uri;
  }
  return withPart(ctx, refs, 'mcp', mcp);
}

export function a2aMessageInput(ctx: RequestContext, msg: A2aMessage, refs: InputRefs = true): string {
  if (!readsPart(refs, 'a2a')) return httpInputJson(ctx, refs);
  const a2a: AuthorizationA2a = { method: msg.method, agent: msg.agent, listing: false };
  if (msg.skill !== undefined) a2a.skill = msg.skill;
  if (msg.taskId !== undefined) a2a.taskId = msg.taskId;
  if (msg.contextId !== undefined) a2a.contextId = msg.contextId;
  if (msg.parts !== undefined) a2a.parts = msg.parts;
  return withPart(ctx, refs, 'a2a', a2a);
}

/** A card skill is asked as a send naming it, so one rule both hides the skill and refuses messages that name it. */
export function a2aSkillInput(ctx: RequestContext, agent: string, skill: Record<string, unknown>, refs: InputRefs = true): string {
  if (!readsPart(refs, 'a2a')) return httpInputJson(ctx, refs);
  return withPart(ctx, refs, 'a2a', { method: 'message/send', agent, skill: String(skill.id ?? ''), listing: true });
}
