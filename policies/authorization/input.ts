import type { AuthorizationA2a, AuthorizationInput, AuthorizationMcp } from '../../sdk-types/authorization.ts';
import type { Identity } from '../../sdk-types/identity.ts';
import type { A2aMessage, McpListItem, McpMessage, RequestContext } from '../../core/pipeline/index.ts';
import { stateKey } from '../../core/state/index.ts';
import { isSecretHeader } from './secret-headers.ts';

const ANONYMOUS: Identity = Object.freeze({ kind: 'anonymous', subject: '', roles: [], claims: {} }) as Identity;

// One base document per request, serialized once: every MCP message and every listed item of the request reuses
// it, and only the small `mcp` part is serialized per decision.
const BASE_INPUT = stateKey<{ identity: Identity; backend: string | undefined; json: string }>('authorization.baseInput');

/** The `input` for the HTTP request (no `mcp`). */
export function httpInput(ctx: RequestContext): AuthorizationInput {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(ctx.clientHeaders)) {
    if (value === undefined || isSecretHeader(ctx, name)) continue;
    headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  const input: AuthorizationInput = {
    identity: ctx.identity ?? ANONYMOUS,
    request: {
      method: ctx.method,
      path: ctx.path,
      query: ctx.search.startsWith('?') ? ctx.search.slice(1) : ctx.search,
      headers,
      clientAddress: ctx.clientAddress,
    },
    listener: ctx.listenerName,
    route: ctx.routeName,
  };
  if (ctx.backendName !== undefined) input.backend = ctx.backendName;
  return input;
}

/** `httpInput` as JSON, cached for the request (rebuilt once the identity or the backend changed since). */
export function httpInputJson(ctx: RequestContext): string {
  const identity = ctx.identity ?? ANONYMOUS;
  const cached = ctx.vars.get(BASE_INPUT);
  if (cached && cached.identity === identity && cached.backend === ctx.backendName) return cached.json;
  const json = JSON.stringify(httpInput(ctx));
  ctx.vars.set(BASE_INPUT, { identity, backend: ctx.backendName, json });
  return json;
}

/** The base document plus `mcp`, spliced as text: the base is an object that never has an `mcp` key. */
function withMcp(ctx: RequestContext, mcp: AuthorizationMcp): string {
  const base = httpInputJson(ctx);
  return `${base.slice(0, -1)},"mcp":${JSON.stringify(mcp)}}`;
}

export function mcpMessageInput(ctx: RequestContext, msg: McpMessage): string {
  const mcp: AuthorizationMcp = { method: msg.method, listing: false };
  if (msg.target !== undefined) mcp.target = msg.target;
  if (msg.tool !== undefined) mcp.tool = msg.tool;
  if (msg.arguments !== undefined) mcp.arguments = msg.arguments;
  if (msg.prompt !== undefined) mcp.prompt = msg.prompt;
  if (msg.resourceUri !== undefined) mcp.resourceUri = msg.resourceUri;
  return withMcp(ctx, mcp);
}

/** A listed item is asked as the call it would let the client make, so one rule both hides and refuses. */
export function mcpListItemInput(ctx: RequestContext, item: McpListItem): string {
  const mcp: AuthorizationMcp = { method: 'tools/call', target: item.target, listing: true };
  if (item.kind === 'tool') mcp.tool = item.name;
  else if (item.kind === 'prompt') {
    mcp.method = 'prompts/get';
    mcp.prompt = item.name;
  } else {
    mcp.method = 'resources/read';
    mcp.resourceUri = item.uri;
  }
  return withMcp(ctx, mcp);
}

/** The base document plus `a2a` (the base never has an `a2a` key). */
function withA2a(ctx: RequestContext, a2a: AuthorizationA2a): string {
  const base = httpInputJson(ctx);
  return `${base.slice(0, -1)},"a2a":${JSON.stringify(a2a)}}`;
}

export function a2aMessageInput(ctx: RequestContext, msg: A2aMessage): string {
  const a2a: AuthorizationA2a = { method: msg.method, agent: msg.agent, listing: false };
  if (msg.skill !== undefined) a2a.skill = msg.skill;
  if (msg.taskId !== undefined) a2a.taskId = msg.taskId;
  if (msg.contextId !== undefined) a2a.contextId = msg.contextId;
  if (msg.parts !== undefined) a2a.parts = msg.parts;
  return withA2a(ctx, a2a);
}

/** A card skill is asked as a send naming it, so one rule both hides the skill and refuses messages that name it. */
export function a2aSkillInput(ctx: RequestContext, agent: string, skill: Record<string, unknown>): string {
  return withA2a(ctx, { method: 'message/send', agent, skill: String(skill.id ?? ''), listing: true });
}
