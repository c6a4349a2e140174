import type { ArgumentSchema } from '../../sdk-types/filter-policies.ts';
import { compileLinear } from '../../core/regex/index.ts';

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/** A compiled check: returns the first violation as `path: problem`, or undefined. Patterns compile once. */
export type ArgumentCheck = (value: unknown, path?: string) => string | undefined;

export function compileSchema(schema: ArgumentSchema): ArgumentCheck {
  const pattern = schema.pattern !== undefined ? compileLinear(schema.pattern) : undefined;
  const props = Object.entries(schema.properties ?? {}).map(([k, v]) => [k, compileSchema(v)] as const);
  const items = schema.items ? compileSchema(schema.items) : undefined;
  const enumJson = schema.enum?.map((e) => JSON.stringify(e));
  const constJson = schema.const === undefined ? undefined : JSON.stringify(schema.const);
  return function check(value, path = 'arguments') {
    const t = typeOf(value);
    if (schema.type && !(t === schema.type || (schema.type === 'number' && t === 'integer'))) return `${path}: expected ${schema.type}, got ${t}`;
    if (enumJson && !enumJson.includes(JSON.stringify(value))) return `${path}: must be one of ${enumJson.join(', ')}`;
    if (constJson !== undefined && JSON.stringify(value) !== constJson) return `${path}: must be ${constJson}`;
    if (typeof value === 'string') {
      if (schema.minLength !== undefined && value.length < schema.minLength) return `${path}: shorter than ${schema.minLength}`;
      if (schema.maxLength !== undefined && value.length > schema.maxLength) return `${path}: longer than ${schema.maxLength}`;
      if (pattern && !pattern.test(value)) return `${path}: does not match ${schema.pattern}`;
    }
    if (typeof value === 'number') {
      if (schema.minimum !== undefined && value < schema.minimum) return `${path}: below ${schema.minimum}`;
      if (schema.maximum !== undefined && value > schema.maximum) return `${path}: above ${schema.maximum}`;
    }
    if (Array.isArray(value)) {
      if (schema.maxItems !== undefined && value.length > schema.maxItems) return `${path}: more than ${schema.maxItems} items`;
      if (items) {
        for (const [i, v] of value.entries()) {
          const e = items(v, `${path}[${i}]`);
          if (e) return e;
        }
      }
    }
    if (t === 'object') {
      const obj = value as Record<string, unknown>;
      for (const r of schema.required ?? []) if (!(r in obj)) return `${path}.${r}: is required`;
      for (const [k, c] of props) {
        if (k in obj) {
          const e = c(obj[k], `${path}.${k}`);
          if (e) return e;
        }
      }
      if (schema.additionalProperties === false) {
        const extra = Object.keys(obj).find((k) => !(k in (schema.properties ?? {})));
        if (extra !== undefined) return `${path}.${extra}: is not allowed`;
      }
    }
    return undefined;
  };
}
