import type { Environment } from '@marcbachmann/cel-js';
import { lazy } from '../lazy.ts';
import type { Issue } from '../schema/index.ts';
import { registerAgentgatewayFunctions } from './agentgateway-functions.ts';

/** The CEL interpreter, loaded when a config first uses CEL. */
const cel = lazy<typeof import('@marcbachmann/cel-js')>('@marcbachmann/cel-js');

/**
 * CEL expressions (Common Expression Language) compiled once, when the config loads, with
 * @marcbachmann/cel-js: parsed and type-checked against the variables a caller declares, so a typo in a variable
 * name or a syntax error is a config error with the expression's path, never a surprise per request.
 */

export interface CelProgram {
  /** The expression as written. */
  readonly source: string;
  /** Evaluates against an activation (variable name → value, see `toCelValue`); throws on evaluation errors. */
  evaluate(activation: Readonly<Record<string, unknown>>): unknown;
}

/** A CEL expression that does not parse or type-check; `message` has the position marker cel-js draws. */
export class CelCompileError extends Error {}

/**
 * An environment whose variables are all maps of dynamic values (claims, headers and the like have no schema), with
 * agentgateway's CEL functions (agentgateway-functions.ts).
 */
export function createCelEnvironment(variables: readonly string[]): Environment {
  const env = registerAgentgatewayFunctions(new (cel().Environment)({ homogeneousAggregateLiterals: false }));
  for (const name of variables) env.registerVariable(name, 'map');
  return env;
}

/**
 * Parses and type-checks `source`; the result must be able to be one of `types` (a boolean by default; `dyn`, a
 * value only known when evaluated, is always accepted).
 */
export function compileCel(env: Environment, source: string, types: readonly string[] = ['bool']): CelProgram {
  let parsed;
  try {
    parsed = env.parse(source);
  } catch (err) {
    throw new CelCompileError(describe(err));
  }
  const checked = parsed.check();
  if (!checked.valid) throw new CelCompileError(describe(checked.error));
  if (!types.includes(checked.type ?? '') && checked.type !== 'dyn') {
    const want = types.length === 1 && types[0] === 'bool' ? 'a boolean' : `of type ${types.join(' or ')}`;
    throw new CelCompileError(`the expression must be ${want}, it is of type ${checked.type}`);
  }
  return { source, evaluate: (activation) => parsed(activation as Record<string, unknown>) };
}

/** `true` only when the expression evaluates to `true`: false, another value or an evaluation error do not match. */
export function matches(program: CelProgram, activation: Readonly<Record<string, unknown>>): boolean {
  try {
    return program.evaluate(activation) === true;
  } catch {
    return false;
  }
}

/**
 * JSON-like data as CEL sees it: whole numbers become CEL `int`s (BigInt), so `jwt.level + 1 == 2` and
 * `source.port == 8080` work as in any CEL implementation; everything else is kept.
 */
export function toCelValue(value: unknown): unknown {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? BigInt(value) : value;
  if (Array.isArray(value)) return value.map(toCelValue);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toCelValue(v);
    return out;
  }
  return value;
}

/** cel-js' message is the error, then the expression and a caret under the place: one line, with the column. */
function describe(err: unknown): string {
  if (!(err instanceof cel().ParseError || err instanceof cel().TypeError || err instanceof Error)) return String(err);
  const lines = err.message.split('\n');
  const source = lines.findIndex((l) => /^>\s+\d+ \| /.test(l));
  if (source > 0 && lines[source + 1]?.includes('^')) {
    const column = lines[source + 1].indexOf('^') - (lines[source].indexOf('|') + 2) + 1;
    return `${lines[0].trim()} (column ${column})`;
  }
  return lines[0].trim();
}
export { compileCelValue, fromCelValue } from './value.ts';
import { compileCelValue } from './value.ts';

/**
 * A CEL expression of a config setting, compiled at `path`: the one rule every CEL setting shares. An expression
 * that is not a non-empty string, or does not parse or type-check, is recorded in `issues` (`expected a CEL
 * expression (string), got 7` / `invalid CEL expression "x": Unknown variable: x (column 1)`) and answers
 * undefined. `types` are the result types allowed (a decision by default); `'any'` accepts a value of any type.
 * @example compileCelSetting(env, config.condition, `${path}.condition`, issues)
 */
export function compileCelSetting(env: Environment, expr: unknown, path: string, issues: Issue[], types: readonly string[] | 'any' = ['bool']): CelProgram | undefined {
  if (typeof expr !== 'string' || expr.trim() === '') {
    issues.push({ path, message: `expected a CEL expression (string), got ${JSON.stringify(expr)}` });
    return undefined;
  }
  try {
    return types === 'any' ? compileCelValue(env, expr) : compileCel(env, expr, types);
  } catch (err) {
    if (!(err instanceof CelCompileError)) throw err;
    issues.push({ path, message: `invalid CEL expression ${JSON.stringify(expr)}: ${err.message}` });
    return undefined;
  }
}
