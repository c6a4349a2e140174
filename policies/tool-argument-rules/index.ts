import type { ArgumentSchema, ToolArgumentRulesPolicy } from '../../sdk-types/filter-policies.ts';
import { s } from '../../core/config/index.ts';
import { ErrorCodes } from '../../core/errors.ts';
import type { McpDecision, PolicyDefinition } from '../../core/pipeline/index.ts';
import { compileSchema, type ArgumentCheck } from './schema-check.ts';

// A recursive reference with a fixed name: `describe` of the real schema would recurse forever.
const nested: s.Schema = { describe: 'argument schema', check: (v, p, i) => argumentSchema.check(v, p, i) };
const argumentSchema: s.Schema = s.lazy(() =>
  s.object({
    type: s.literal('object', 'array', 'string', 'number', 'integer', 'boolean', 'null'),
    properties: s.record(nested),
    required: s.array(s.string()),
    additionalProperties: s.boolean(),
    items: nested,
    enum: s.array({ describe: 'JSON value', check() {} }),
    const: { describe: 'JSON value', check() {} },
    pattern: s.regex(),
    minLength: s.number({ integer: true, min: 0 }),
    maxLength: s.number({ integer: true, min: 0 }),
    minimum: s.number(),
    maximum: s.number(),
    maxItems: s.number({ integer: true, min: 0 }),
  }),
);

interface CompiledRule {
  tool: RegExp;
  label: string;
  deny: RegExp[];
  forbid: string[];
  check?: ArgumentCheck;
}

function glob(pattern: string): RegExp {
  return new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\/]/g, '\\$&')).join('.*')}$`);
}

/** Every string in the arguments, keys included: a deny pattern must not be dodged by moving text into a key. */
function* strings(v: unknown, depth = 0): Generator<string> {
  if (typeof v === 'string') yield v;
  else if (depth < 64 && v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if (!Array.isArray(v)) yield k;
      yield* strings(x, depth + 1);
    }
  }
}

function deny(message: string): McpDecision {
  return { action: 'deny', message: `${ErrorCodes.FILTER_DENIED}: ${message}` };
}

/**
 * Checks the arguments of MCP `tools/call` against deny patterns, forbidden argument names and a JSON-schema
 * subset, beyond whatever the tool itself validates. Every rule whose `tool` glob matches applies.
 */
export const toolArgumentRules: PolicyDefinition<ToolArgumentRulesPolicy> = {
  name: 'toolArgumentRules',
  phase: 'requestFilter',
  backends: ['mcp'],
  schema: s.object(
    {
      rules: s.array(
        s.object(
          { tool: s.string({ nonEmpty: true }), deny: s.array(s.regex()), forbidArguments: s.array(s.string()), schema: argumentSchema },
          { required: ['tool'] },
        ),
      ),
    },
    { required: ['rules'] },
  ),
  create(config) {
    const rules: CompiledRule[] = config.rules.map((r) => ({
      tool: glob(r.tool),
      label: r.tool,
      deny: (r.deny ?? []).map((d) => new RegExp(d)),
      forbid: r.forbidArguments ?? [],
      check: r.schema ? compileSchema(r.schema as ArgumentSchema) : undefined,
    }));
    return {
      step: (_ctx, next) => next(),
      mcp: {
        onRequest(ctx, msg) {
          if (msg.method !== 'tools/call' || msg.tool === undefined) return { action: 'continue' };
          const args = (msg.params?.arguments as Record<string, unknown> | undefined) ?? msg.arguments ?? {};
          for (const rule of rules) {
            if (!rule.tool.test(msg.tool)) continue;
            const forbidden = rule.forbid.find((name) => name in args);
            if (forbidden !== undefined) return deny(`tool "${msg.tool}": argument "${forbidden}" is not allowed (rule "${rule.label}")`);
            for (const text of strings(args)) {
              const hit = rule.deny.find((re) => re.test(text));
              if (hit) {
                ctx.log.warn({ tool: msg.tool, rule: rule.label, pattern: hit.source }, 'tool call denied by an argument rule');
                return deny(`tool "${msg.tool}": an argument matches deny pattern ${JSON.stringify(hit.source)} (rule "${rule.label}")`);
              }
            }
            const problem = rule.check?.(args);
            if (problem) return deny(`tool "${msg.tool}": ${problem} (rule "${rule.label}")`);
          }
          return { action: 'continue' };
        },
      },
    };
  },
};
