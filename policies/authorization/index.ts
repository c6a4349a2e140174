import { resolve } from 'node:path';
import type { AuthorizationPolicy } from '../../sdk-types/security.ts';
import { s } from '../../core/config/index.ts';
import { ErrorCodes, GatewayError } from '../../core/errors.ts';
import type { McpDecision, PolicyDefinition, RequestContext } from '../../core/pipeline/index.ts';
import { recordDecisionInput } from '../../core/pipeline/index.ts';
import { analyzeInputRefs, compileRego, loadRegoData, loadRegoPolicy, RegoEvalError, WHOLE_INPUT, type RegoDecision, type RegoPolicy } from '../../core/rego/index.ts';
import { a2aMessageInput, a2aSkillInput, httpInputJson, mcpListItemInput, mcpMessageInput } from './input.ts';
import { celRulesSchema, compileRuleSet, httpActivation, ruleSetAllows } from './cel.ts';
import { UPSTREAM_CREDENTIAL_PROBE, UPSTREAM_CREDENTIALS } from '../../core/pipeline/index.ts';

export { markSecretHeader } from './secret-headers.ts';
export { CEL_VARIABLES, httpActivation } from './cel.ts';

export const DEFAULT_ENTRYPOINT = 'authz/allow';

/** JSON-RPC "internal error": the policy failed, which is the gateway's problem, not the client's request. */
const JSONRPC_INTERNAL_ERROR = -32603;

/** Methods that name one tool, prompt or resource: a denial answers as if it did not exist. */
const NAMED_METHODS = new Set(['tools/call', 'prompts/get', 'resources/read', 'resources/subscribe', 'resources/unsubscribe']);

const listOf = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const stringOrList = s.oneOf('string or array of string', [
  { when: (v) => typeof v === 'string', schema: s.string({ nonEmpty: true }) },
  { when: (v) => Array.isArray(v), schema: s.array(s.string({ nonEmpty: true }), { minItems: 1 }) },
]);

/** Resolved files of a config, shared by the policy and `portcullis policy` commands. */
export function authorizationFiles(config: AuthorizationPolicy, baseDir: string): { rego: string[]; data: string[] } {
  return { rego: listOf(config.rego).map((f) => resolve(baseDir, f)), data: listOf(config.data).map((f) => resolve(baseDir, f)) };
}

/**
 * Compiles (or takes from the cache) and loads the policy a config names, with what it reads of its input, so the
 * gateway builds only that.
 */
export async function buildRegoPolicy(config: AuthorizationPolicy, baseDir: string, label: string): Promise<RegoPolicy> {
  const files = authorizationFiles(config, baseDir);
  const entrypoint = config.entrypoint ?? DEFAULT_ENTRYPOINT;
  const compiled = await compileRego({ files: files.rego, entrypoint, baseDir, opaPath: config.opaPath, label });
  const inputRefs = await analyzeInputRefs({ sources: compiled.sources, baseDir, opaPath: config.opaPath, hash: compiled.hash });
  const data = await loadRegoData(files.data, `${label}: `);
  return loadRegoPolicy({ wasm: compiled.wasm, entrypoint, data, sources: compiled.sources, inputRefs, label });
}

/** What `decide` answers when the policy has no Rego (CEL `rules` only, which decide the HTTP request alone). */
const NO_REGO: RegoDecision = Object.freeze({ allow: true });

/**
 * Authorization as Rego compiled to WebAssembly, and/or CEL `rules` in agentgateway's form. Rego decides the HTTP
 * request (403 on deny) and, on MCP routes, every JSON-RPC message and every listed tool, prompt and resource; CEL
 * `rules` decide the HTTP request (as agentgateway's `authorization.rules` do; `mcpAuthorization` has the MCP
 * rules). With both, both must allow. Fails closed: a policy that errors or is undefined denies, and the cause goes
 * to the log, not to the client.
 */
export const authorization: PolicyDefinition<AuthorizationPolicy> = {
  name: 'authorization',
  phase: 'authorization',
  schema: s.object(
    {
      rego: stringOrList,
      data: stringOrList,
      entrypoint: s.string({ pattern: /^[A-Za-z_]\w*(\/[A-Za-z_]\w*)+$/, patternHint: '"package/rule", e.g. "authz/allow"' }),
      opaPath: s.string({ nonEmpty: true }),
      rules: celRulesSchema,
    },
    {
      refine(v, p, issues) {
        if (v.rego === undefined && v.rules === undefined) issues.push({ path: `${p}.rego`, message: 'is required (string or array of string), unless CEL rules are given in rules' });
        if (v.rego === undefined && (v.data !== undefined || v.entrypoint !== undefined)) issues.push({ path: `${p}.rego`, message: 'is required with data or entrypoint' });
      },
    },
  ),
  files(config, baseDir) {
    const f = authorizationFiles(config, baseDir);
    return [...f.rego, ...f.data];
  },
  async create(config, build) {
    const policy = config.rego === undefined ? undefined : await buildRegoPolicy(config, build.baseDir, build.path);
    const rules = config.rules === undefined ? undefined : compileRuleSet(config.rules, `${build.path}.rules`);
    const log = build.logger;
    const refs = policy?.inputRefs ?? WHOLE_INPUT;
    /** The Rego decision on one input document (always allow without Rego); callers build the input for their message. */
    const decide = (ctx: RequestContext, input: string, recorded = false): RegoDecision | RegoEvalError => {
      if (!policy) return NO_REGO;
      // A decision that is published (the request's, a message's; not a list item's) carries the input it judged.
      if (recorded) recordDecisionInput(ctx, input);
      try {
        return policy.evaluateJson(input);
      } catch (err) {
        const e = err instanceof RegoEvalError ? err : new RegoEvalError((err as Error).message, { cause: err });
        log.error({ route: ctx.routeName, entrypoint: policy.entrypoint, err: e.message }, 'authorization policy failed: denied (fail closed)');
        return e;
      }
    };
    /** The HTTP request's decision (CEL rules, then Rego), once `upstreamCredentials` is known. */
    const decideRequest = (ctx: RequestContext, next: () => Promise<void>): Promise<void> => {
      if (rules && !ruleSetAllows(rules, httpActivation(ctx))) {
        ctx.log.debug({ route: ctx.routeName, subject: ctx.identity?.subject }, 'authorization denied by CEL rules');
        throw new GatewayError(ErrorCodes.FORBIDDEN, 'forbidden by the authorization rules');
      }
      if (!policy) return next();
      const decision = decide(ctx, httpInputJson(ctx, refs), true);
      if (decision instanceof RegoEvalError) {
        throw new GatewayError(ErrorCodes.POLICY_EVAL, 'denied: the authorization policy could not be evaluated (the gateway log has the cause)');
      }
      if (!decision.allow) {
        ctx.log.debug({ route: ctx.routeName, subject: ctx.identity?.subject, reason: decision.reason }, 'authorization denied');
        throw new GatewayError(ErrorCodes.FORBIDDEN, decision.reason ? `forbidden: ${decision.reason}` : 'forbidden by the authorization policy');
      }
      return next();
    };
    return {
      step(ctx, next) {
        // Whether the caller has a per-user upstream credential on this route (backendAuth), asked once per request.
        const probe = build.state.get(UPSTREAM_CREDENTIAL_PROBE, build.scope);
        if (probe) {
          const known = probe(ctx);
          if (known instanceof Promise) {
            return known.then((v) => {
              ctx.vars.set(UPSTREAM_CREDENTIALS, v);
              return decideRequest(ctx, next);
            });
          }
          ctx.vars.set(UPSTREAM_CREDENTIALS, known);
        }
        return decideRequest(ctx, next);
      },
      mcp: {
        onRequest(ctx, msg): McpDecision {
          const decision = decide(ctx, mcpMessageInput(ctx, msg, refs), true);
          if (decision instanceof RegoEvalError) {
            return { action: 'deny', message: 'denied: the authorization policy could not be evaluated', code: JSONRPC_INTERNAL_ERROR };
          }
          if (decision.allow) return { action: 'continue' };
          ctx.log.debug({ route: ctx.routeName, subject: ctx.identity?.subject, method: msg.method, tool: msg.tool, reason: decision.reason }, 'authorization denied an MCP message');
          if (NAMED_METHODS.has(msg.method)) return { action: 'deny', message: decision.reason ?? 'forbidden', asUnknown: true };
          return { action: 'deny', message: decision.reason ? `forbidden: ${decision.reason}` : `forbidden: ${msg.method}` };
        },
        allowListItem(ctx, item) {
          const decision = decide(ctx, mcpListItemInput(ctx, item, refs));
          return !(decision instanceof RegoEvalError) && decision.allow;
        },
      },
      // A2A: every message, and every skill of an agent card (a denied skill is never shown).
      a2a: {
        onRequest(ctx, msg): McpDecision {
          const decision = decide(ctx, a2aMessageInput(ctx, msg, refs), true);
          if (decision instanceof RegoEvalError) {
            return { action: 'deny', message: 'denied: the authorization policy could not be evaluated', code: JSONRPC_INTERNAL_ERROR };
          }
          if (decision.allow) return { action: 'continue' };
          ctx.log.debug({ route: ctx.routeName, subject: ctx.identity?.subject, method: msg.method, skill: msg.skill, reason: decision.reason }, 'authorization denied an A2A message');
          return { action: 'deny', message: decision.reason ? `forbidden: ${decision.reason}` : `forbidden: ${msg.method}${msg.skill ? ` (skill ${msg.skill})` : ''}` };
        },
        allowSkill(ctx, agent, skill) {
          const decision = decide(ctx, a2aSkillInput(ctx, agent, skill, refs));
          return !(decision instanceof RegoEvalError) && decision.allow;
        },
      },
    };
  },
};
