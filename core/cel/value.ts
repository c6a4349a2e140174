import type { Environment } from '@marcbachmann/cel-js';
import { CelCompileError, type CelProgram } from './index.ts';

/**
 * A CEL expression whose result is a value of any type (an access-log field, a resource attribute), not a
 * decision: parsed and type-checked once, like `compileCel`, without requiring a boolean.
 */
export function compileCelValue(env: Environment, source: string): CelProgram {
  let parsed;
  try {
    parsed = env.parse(source);
  } catch (err) {
    throw new CelCompileError(firstLine(err));
  }
  const checked = parsed.check();
  if (!checked.valid) throw new CelCompileError(firstLine(checked.error));
  return { source, evaluate: (activation) => parsed(activation as Record<string, unknown>) };
}

/**
 * A CEL result as JSON-like data for a log line or an attribute: CEL `int`s (BigInt) become numbers, maps and
 * lists are walked, anything else that JSON cannot hold becomes its string.
 */
export function fromCelValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  if (depth > 16) return null;
  if (Array.isArray(value)) return value.map((v) => fromCelValue(v, depth + 1));
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), fromCelValue(v, depth + 1)]));
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = fromCelValue(v, depth + 1);
    return out;
  }
  return String(value);
}

function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const lines = message.split('\n');
  const source = lines.findIndex((l) => /^>\s+\d+ \| /.test(l));
  if (source > 0 && lines[source + 1]?.includes('^')) {
    const column = lines[source + 1].indexOf('^') - (lines[source].indexOf('|') + 2) + 1;
    return `${lines[0].trim()} (column ${column})`;
  }
  return lines[0].trim();
}
