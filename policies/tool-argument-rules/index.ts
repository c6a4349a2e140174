import type { ArgumentSchema, ToolArgumentRulesPolicy } from '../../sdk-types/filter-policies.ts';
import { s } from '../../core/config/index.ts';
import { ErrorCodes } from '../../core/errors.ts';
import type { McpDecision, PolicyDefinition, RequestContext } from '../../core/pipeline/index.ts';
import { linearRegexSchema } from '../../core/regex/schema.ts';
import { compileLinear, ScanTooExpensive, type LinearRegex } from '../../core/regex/index.ts';
import { compileSchema, type ArgumentCheck } from './schema-check.ts';

export const DEFAULT_MAX_SCAN_BYTES = 1024 * 1024;
/** Arguments nested deeper than this are refused: what is not walked is not checked. */
const MAX_DEPTH = 64;

// A recursive reference with a fixed name: `describe` of the real schema would recurse forever.
const nested: s.Schema = { describe: 'argument schema', check: (v, p, i) => argumentSchema.check(v, p, i), jsonSchema: (ctx) => ctx.of(argumentSchema, '') };
const argumentSchema: s.Schema = s.lazy(() =>
  s.object({
    type: s.literal('object', 'array', 'string', 'number', 'integer', 'boolean', 'null'),
    properties: s.record(nested),
    required: s.array(s.string()),
    additionalProperties: s.boolean(),
    items: nested,
    enum: s.array({ describe: 'JSON value', check() {}, jsonSchema: () => ({}) }),
    const: { describe: 'JSON value', check() {}, jsonSchema: () => ({}) },
    pattern: linearRegexSchema(),
    minLength: s.number({ integer: true, min: 0 }),
    maxLength: s.number({ integer: true, min: 0 }),
    minimum: s.number(),
    maximum: s.number(),
    maxItems: s.number({ integer: true, min: 0 }),
  }),
);

interface CompiledRule {
  tool: LinearRegex;
  label: string;
  deny: LinearRegex[];
  forbid: string[];
  check?: ArgumentCheck;
}

function glob(pattern: string): LinearRegex {
  return compileLinear(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\/]/g, '\\$&')).join('[^]*')}$`);
}

/**
 * Every string in the arguments, keys included (a deny pattern must not be dodged by moving text into a key), or
 * why they cannot all be checked: more than `cap` bytes of text, or nested too deep.
 */
function collectStrings(args: unknown, cap: number): { texts: string[] } | { problem: string } {
  const texts: string[] = [];
  let bytes = 0;
  const add = (text: string) => {
    texts.push(text);
    bytes += Buffer.byteLength(text);
    return bytes <= cap;
  };
  const walk = (v: unknown, depth: number): string | undefined => {
    if (typeof v === 'string') return add(v) ? undefined : `its arguments hold more than maxScanBytes (${cap}) bytes of text`;
    if (v === null || typeof v !== 'object') return undefined;
    if (depth >= MAX_DEPTH) return `its arguments are nested deeper than ${MAX_DEPTH} levels`;
    for (const [k, x] of Object.entries(v)) {
      if (!Array.isArray(v) && !add(k)) return `its arguments hold more than maxScanBytes (${cap}) bytes of text`;
      const problem = walk(x, depth + 1);
      if (problem) return problem;
    }
    return undefined;
  };
  const problem = walk(args, 0);
  return problem ? { problem } : { texts };
}

function deny(message: string): McpDecision {
  return { action: 'deny', message: `${ErrorCodes.FILTER_DENIED}: ${message}` };
}

/** Fail closed: arguments that cannot all be checked are not forwarded unchecked. */
function refuseUnchecked(ctx: RequestContext, tool: string, why: string, rule?: string): McpDecision {
  ctx.log.warn({ tool, rule, reason: why }, 'tool call refused: its arguments could not be checked');
  const by = rule === undefined ? '' : ` (rule "${rule}")`;
  return { action: 'deny', message: `${ErrorCodes.FILTER_CONTENT_TOO_LARGE}: tool "${tool}": ${why}, so the call was refused unchecked${by}` };
}

function checkCall(ctx: RequestContext, tool: string, args: Record<string, unknown>, rules: readonly CompiledRule[], cap: number): McpDecision {
  let texts: string[] | undefined;
  for (const rule of rules) {
    if (!rule.tool.test(tool)) continue;
    const forbidden = rule.forbid.find((name) => name in args);
    if (forbidden !== undefined) return deny(`tool "${tool}": argument "${forbidden}" is not allowed (rule "${rule.label}")`);
    if (texts === undefined) {
      const collected = collectStrings(args, cap);
      if ('problem' in collected) return refuseUnchecked(ctx, tool, collected.problem, rule.label);
      texts = collected.texts;
    }
    for (const text of texts) {
      const hit = rule.deny.find((re) => re.test(text));
      if (hit) {
        ctx.log.warn({ tool, rule: rule.label, pattern: hit.source }, 'tool call denied by an argument rule');
        return deny(`tool "${tool}": an argument matches deny pattern ${JSON.stringify(hit.source)} (rule "${rule.label}")`);
      }
    }
    const problem = rule.check?.(args);
    if (problem) return deny(`tool "${tool}": ${problem} (rule "${rule.label}")`);
  }
  return { action: 'continue' };
}

/**
 * Checks the arguments of MCP `tools/call` against deny patterns, forbidden argument names and a JSON-schema
 * subset, beyond whatever the tool itself validates. Every rule whose `tool` glob matches applies.
 */
export const toolArgumentRules: PolicyDefinition<ToolArgumentRulesPolicy> = {
  name: 'toolArgumentRules',
  phase: 'requestFilter',
  requires: ['mcp'],
  schema: s.object(
    {
      rules: s.array(
        s.object(
          { tool: s.string({ nonEmpty: true }), deny: s.array(linearRegexSchema()), forbidArguments: s.array(s.string()), schema: argumentSchema },
          { required: ['tool'] },
        ),
      ),
      maxScanBytes: s.number({ integer: true, min: 0 }),
    },
    { required: ['rules'] },
  ),
  create(config) {
    const rules: CompiledRule[] = config.rules.map((r) => ({
      tool: glob(r.tool),
      label: r.tool,
      deny: (r.deny ?? []).map((d) => compileLinear(d)),
      forbid: r.forbidArguments ?? [],
      check: r.schema ? compileSchema(r.schema as ArgumentSchema) : undefined,
    }));
    const cap = config.maxScanBytes ?? DEFAULT_MAX_SCAN_BYTES;
    return {
      step: (_ctx, next) => next(),
      mcp: {
        onRequest(ctx, msg) {
          if (msg.method !== 'tools/call' || msg.tool === undefined) return { action: 'continue' };
          try {
            return checkCall(ctx, msg.tool, (msg.params?.arguments as Record<string, unknown> | undefined) ?? msg.arguments ?? {}, rules, cap);
          } catch (err) {
            if (!(err instanceof ScanTooExpensive)) throw err;
            return refuseUnchecked(ctx, msg.tool, err.message);
          }
        },
      },
    };
  },
};
