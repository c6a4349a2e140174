import type { AbortPolicy, AbortRule } from '../../sdk-types/config.ts';
import { compileCelSetting, createCelEnvironment, matches, type CelProgram } from '../../core/cel/index.ts';
import { s } from '../../core/config/index.ts';
import type { Issue, Schema } from '../../core/schema/index.ts';
import { ErrorCodes, GatewayError } from '../../core/errors.ts';
import type { PolicyDefinition } from '../../core/pipeline/index.ts';
import { CEL_VARIABLES, httpActivation } from '../authorization/index.ts';

/**
 * Fault injection: answer with an error instead of reaching the backend, for a share of requests (`percentage`)
 * or those a CEL `condition` picks (`random() < 0.1`, `request.headers["x-chaos"] == "abort"`). Several rules are
 * tried in order and the first that fires answers; a request none fires for goes on. This is agentgateway's
 * `directResponse: { conditional: [...] }` (its way to inject aborts), which an agentgateway config maps to.
 */

let env: ReturnType<typeof createCelEnvironment> | undefined;
const compileCondition = (expr: unknown, path: string, issues: Issue[]): CelProgram | undefined =>
  compileCelSetting((env ??= createCelEnvironment(CEL_VARIABLES)), expr, path, issues);


const ruleSchema = s.object(
  {
    status: s.number({ integer: true, min: 200, max: 599 }),
    body: s.string(),
    headers: s.record(s.string()),
    percentage: s.number({ min: 0, max: 100 }),
    condition: {
      describe: 'CEL expression',
      check: (v, p, issues) => void compileCondition(v, p, issues),
      jsonSchema: () => ({ type: 'string', description: 'a CEL expression' }),
    } satisfies Schema,
  },
  { required: ['status'] },
);

const abortSchema: Schema = {
  describe: 'abort rule or list of abort rules',
  check(value, path, issues) {
    if (!Array.isArray(value)) return ruleSchema.check(value, path, issues);
    if (value.length === 0 || value.length > 64) issues.push({ path, message: `expected 1 to 64 rules, got ${value.length}` });
    value.forEach((rule, i) => ruleSchema.check(rule, `${path}[${i}]`, issues));
  },
  jsonSchema: (ctx) => ({ anyOf: [ctx.of(ruleSchema, ''), { type: 'array', items: ctx.of(ruleSchema, '[]'), minItems: 1, maxItems: 64 }] }),
};

interface BuiltRule {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  share: number;
  condition?: CelProgram;
}

export const abort: PolicyDefinition<AbortPolicy> = {
  name: 'abort',
  phase: 'directResponse',
  schema: abortSchema,
  create(config, build) {
    const list: readonly AbortRule[] = Array.isArray(config) ? config : [config as AbortRule];
    const issues: Issue[] = [];
    const rules: BuiltRule[] = list.map((rule, i) => {
      const path = Array.isArray(config) ? `${build.path}[${i}]` : build.path;
      const body = Buffer.from(rule.body ?? '');
      const headers = Object.fromEntries(Object.entries(rule.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
      if (body.length > 0 && headers['content-type'] === undefined) headers['content-type'] = 'text/plain; charset=utf-8';
      headers['content-length'] = String(body.length);
      const condition = rule.condition === undefined ? undefined : compileCondition(rule.condition, `${path}.condition`, issues);
      return { status: rule.status, headers, body, share: (rule.percentage ?? 100) / 100, condition };
    });
    if (issues.length > 0) throw new GatewayError(ErrorCodes.CONFIG_INVALID, s.formatIssues(issues));
    return {
      step(ctx, next) {
        for (const rule of rules) {
          if (rule.share < 1 && Math.random() >= rule.share) continue;
          if (rule.condition && !matches(rule.condition, httpActivation(ctx))) continue;
          ctx.log.debug({ policy: 'abort', status: rule.status }, 'fault injected: request aborted');
          ctx.respond({ status: rule.status, headers: { ...rule.headers }, body: rule.body });
          return Promise.resolve();
        }
        return next();
      },
    };
  },
};
