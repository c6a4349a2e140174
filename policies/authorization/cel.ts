import type { CelRule } from '../../sdk-types/cel-rules.ts';
import type { Identity } from '../../sdk-types/identity.ts';
import { compileCel, CelCompileError, createCelEnvironment, matches, toCelValue, type CelProgram } from '../../core/cel/index.ts';
import { s } from '../../core/config/index.ts';
import type { Issue, Schema } from '../../core/schema/index.ts';
import { ErrorCodes, GatewayError } from '../../core/errors.ts';
import type { McpListItem, McpMessage, RequestContext } from '../../core/pipeline/index.ts';
import { stateKey } from '../../core/state/index.ts';
import { isSecretHeader } from './secret-headers.ts';
import { UPSTREAM_CREDENTIALS } from '../../core/pipeline/index.ts';

/**
 * CEL authorization rules in agentgateway's form (`authorization.rules`, `mcpAuthorization.rules`): each rule is
 * a CEL expression, plain (an allow rule) or as `{ allow | deny | require: <expr> }`, over agentgateway's variable
 * names (`request`, `source`, `jwt`, `apiKey`, `mcp`, `backend`). Decided as agentgateway decides:
 * any matching deny denies; every require must match; then any matching allow allows; with no allow rule at all
 * (only denies and requires), what was not denied is allowed. An expression that fails to evaluate (a missing
 * claim, a header that is absent) does not match.
 */

/** The variables a rule may name. */
export const CEL_VARIABLES = ['request', 'source', 'jwt', 'apiKey', 'mcp', 'backend', 'upstreamCredentials'] as const;

/** Created with the first CEL rule, so that a config without CEL never loads the interpreter. */
let env: ReturnType<typeof createCelEnvironment> | undefined;

export interface CelRuleSet {
  readonly allow: readonly CelProgram[];
  readonly deny: readonly CelProgram[];
  readonly require: readonly CelProgram[];
}

type Kind = 'allow' | 'deny' | 'require';
const KINDS: readonly Kind[] = ['allow', 'deny', 'require'];

/** One rule: its kind, its expression and where it sits in the config (for messages). */
function ruleParts(rule: unknown, path: string, issues: Issue[]): { kind: Kind; expr: string; path: string } | undefined {
  if (typeof rule === 'string') return { kind: 'allow', expr: rule, path };
  if (rule === null || typeof rule !== 'object' || Array.isArray(rule)) {
    issues.push({ path, message: `expected a CEL expression (string) or { allow | deny | require: <expression> }, got ${Array.isArray(rule) ? 'array' : rule === null ? 'null' : typeof rule}` });
    return undefined;
  }
  const keys = Object.keys(rule);
  const kind = keys[0] as Kind;
  if (keys.length !== 1 || !KINDS.includes(kind)) {
    issues.push({ path, message: `expected exactly one of allow, deny, require, got ${keys.length === 0 ? 'none' : keys.join(', ')}` });
    return undefined;
  }
  const expr = (rule as Record<string, unknown>)[kind];
  if (typeof expr !== 'string') {
    issues.push({ path: `${path}.${kind}`, message: `expected a CEL expression (string), got ${expr === null ? 'null' : typeof expr}` });
    return undefined;
  }
  return { kind, expr, path: `${path}.${kind}` };
}

/** Compiles every rule; problems go to `issues` with the rule's path. */
function compileInto(rules: readonly unknown[], path: string, issues: Issue[]): CelRuleSet {
  const set = { allow: [] as CelProgram[], deny: [] as CelProgram[], require: [] as CelProgram[] };
  rules.forEach((rule, i) => {
    const parts = ruleParts(rule, `${path}[${i}]`, issues);
    if (!parts) return;
    if (parts.expr.trim() === '') {
      issues.push({ path: parts.path, message: 'must not be empty' });
      return;
    }
    try {
      set[parts.kind].push(compileCel((env ??= createCelEnvironment(CEL_VARIABLES)), parts.expr));
    } catch (err) {
      if (!(err instanceof CelCompileError)) throw err;
      issues.push({ path: parts.path, message: `invalid CEL rule ${JSON.stringify(parts.expr)}: ${err.message}` });
    }
  });
  return set;
}

/** The schema of a `rules` list: its shape, and every expression compiled (so validation finds what load would). */
export const celRulesSchema: Schema = {
  describe: 'array of CEL rules',
  check(value, path, issues) {
    if (!Array.isArray(value)) {
      issues.push({ path, message: `expected array of CEL rules, got ${value === null ? 'null' : typeof value}` });
      return;
    }
    compileInto(value, path, issues);
  },
  jsonSchema: () => {
    const expression = { type: 'string', minLength: 1, description: 'a CEL expression' };
    const only = (kind: Kind) => ({ type: 'object', properties: { [kind]: expression }, required: [kind], additionalProperties: false });
    return { type: 'array', items: { anyOf: [expression, ...KINDS.map(only)] } };
  },
};

/** Compiles the rules of a validated config, once, when the policy is built. */
export function compileRuleSet(rules: readonly CelRule[], path: string): CelRuleSet {
  const issues: Issue[] = [];
  const set = compileInto(rules, path, issues);
  if (issues.length > 0) throw new GatewayError(ErrorCodes.CONFIG_INVALID, s.formatIssues(issues));
  return set;
}

export function hasRules(set: CelRuleSet): boolean {
  return set.allow.length + set.deny.length + set.require.length > 0;
}

/** agentgateway's decision over one rule set. */
export function ruleSetAllows(set: CelRuleSet, activation: Readonly<Record<string, unknown>>): boolean {
  if (!hasRules(set)) return true;
  if (set.deny.some((r) => matches(r, activation))) return false;
  if (!set.require.every((r) => matches(r, activation))) return false;
  if (set.allow.some((r) => matches(r, activation))) return true;
  return set.allow.length === 0;
}

// The request part of the activation, built once per request (and again only once the identity changed).
const BASE = stateKey<{ identity: Identity | undefined; backend: string | undefined; base: Record<string, unknown> }>('authorization.celBase');
const identityParts = new WeakMap<Identity, Record<string, unknown>>();

/** The variables of an HTTP request: `request`, `source`, and `jwt` or `apiKey` once authentication set them. */
export function httpActivation(ctx: RequestContext): Record<string, unknown> {
  const cached = ctx.vars.get(BASE);
  if (cached && cached.identity === ctx.identity && cached.backend === ctx.backendName) return cached.base;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(ctx.clientHeaders)) {
    if (value === undefined || isSecretHeader(ctx, name)) continue;
    headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  const host = typeof ctx.clientHeaders.host === 'string' ? ctx.clientHeaders.host : ctx.authority;
  const base: Record<string, unknown> = {
    request: {
      method: ctx.method,
      path: ctx.path,
      pathAndQuery: ctx.path + ctx.search,
      host: host.replace(/:\d+$/, ''),
      scheme: ctx.scheme,
      uri: `${ctx.scheme}://${host}${ctx.path}${ctx.search}`,
      headers,
    },
    source: { address: ctx.clientAddress },
    ...(ctx.backendName === undefined ? {} : { backend: { name: ctx.backendName } }),
    ...(ctx.identity ? identityVars(ctx.identity) : {}),
    ...(ctx.vars.has(UPSTREAM_CREDENTIALS) ? { upstreamCredentials: toCelValue(ctx.vars.get(UPSTREAM_CREDENTIALS)) } : {}),
  };
  ctx.vars.set(BASE, { identity: ctx.identity, backend: ctx.backendName, base });
  return base;
}

/** `jwt` is the verified claims; `apiKey` is the key's metadata and `key`, the key's name (never the key itself). */
function identityVars(identity: Identity): Record<string, unknown> {
  let vars = identityParts.get(identity);
  if (vars) return vars;
  if (identity.kind === 'jwt') vars = { jwt: toCelValue(identity.claims) };
  else if (identity.kind === 'apiKey') vars = { apiKey: toCelValue({ ...identity.claims, key: identity.subject, roles: identity.roles }) };
  else vars = {};
  identityParts.set(identity, vars);
  return vars;
}

/** The name a target knows: agentgateway's `mcp.tool.name` is the resolved name, without our `<target>_` prefix. */
function unprefixed(name: string, target: string): string {
  return name.startsWith(`${target}_`) ? name.slice(target.length + 1) : name;
}

function unprefixedUri(uri: string, target: string): string {
  const prefix = `portcullis://${target}/`;
  return uri.startsWith(prefix) ? uri.slice(prefix.length) : uri;
}

/**
 * The `mcp` variable of a message that names a tool, prompt or resource (`{ tool: { target, name } }`); undefined
 * for every other message, which agentgateway's MCP authorization does not decide.
 */
export function mcpResourceOf(msg: McpMessage): Record<string, unknown> | undefined {
  const resource = mcpNamedOf(msg);
  return resource && msg.protocolVersion !== undefined ? { ...resource, protocolVersion: msg.protocolVersion } : resource;
}

function mcpNamedOf(msg: McpMessage): Record<string, unknown> | undefined {
  const target = msg.target ?? '';
  if (msg.method === 'tools/call' && msg.tool !== undefined) return { tool: { target, name: unprefixed(msg.tool, target), ...(msg.upstreamTool !== undefined ? { upstreamName: msg.upstreamTool } : {}) } };
  if (msg.method === 'prompts/get' && msg.prompt !== undefined) return { prompt: { target, name: unprefixed(msg.prompt, target) } };
  if ((msg.method === 'resources/read' || msg.method === 'resources/subscribe' || msg.method === 'resources/unsubscribe') && msg.resourceUri !== undefined) {
    return { resource: { target, name: unprefixedUri(msg.resourceUri, target) } };
  }
  return undefined;
}

/** A listed item is asked as the call it would let the client make, as with Rego. */
export function mcpListItemResource(item: McpListItem): Record<string, unknown> | undefined {
  if (item.kind === 'tool' && item.name !== undefined) return { tool: { target: item.target, name: unprefixed(item.name, item.target), ...(item.upstreamName !== undefined ? { upstreamName: item.upstreamName } : {}) } };
  if (item.kind === 'prompt' && item.name !== undefined) return { prompt: { target: item.target, name: unprefixed(item.name, item.target) } };
  if ((item.kind === 'resource' || item.kind === 'resourceTemplate') && item.uri !== undefined) {
    return { resource: { target: item.target, name: unprefixedUri(item.uri, item.target) } };
  }
  return undefined;
}

export function withMcp(ctx: RequestContext, mcp: Record<string, unknown>): Record<string, unknown> {
  return { ...httpActivation(ctx), mcp };
}
