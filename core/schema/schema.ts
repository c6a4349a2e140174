/**
 * A small structural validator: every schema walks its value, records each problem with its path, and never
 * stops at the first one, so a user sees all mistakes of a config at once.
 */

export interface Issue {
  path: string;
  message: string;
  /**
   * Which check found it, for `portcullis validate` to group by: the shape and types (`schema`, the default), the
   * route's backends and the policies that may act on them (`backends`), names and ports used twice (`names`),
   * files and commands the config points at (`files`), agentgateway features Portcullis does not have (`agentgateway`).
   */
  stage?: IssueStage;
  /**
   * `warning`: true of this machine but not of the config (a stdio command missing here that a container or CI
   * runner has). `validate` prints it and still exits 0, unless `--strict`.
   */
  severity?: 'warning';
}

export type IssueStage = 'agentgateway' | 'schema' | 'backends' | 'names' | 'files';
/** The order `validate` reports stages in. */
export const ISSUE_STAGES: readonly IssueStage[] = ['agentgateway', 'schema', 'backends', 'names', 'files'];

export interface Schema {
  /** Type name used in messages: `expected <describe>, got ...`. */
  readonly describe: string;
  check(value: unknown, path: string, issues: Issue[]): void;
  /**
   * The JSON Schema (draft 2020-12) of what `check` accepts, for editors (`npm run schema`). It says what JSON Schema
   * can: types, keys, patterns, bounds; the cross-key `refine` rules stay with `check`. A schema without it makes the
   * generator fail with its path, so the JSON Schema never silently accepts a part of the config.
   */
  jsonSchema?(ctx: JsonSchemaContext): JsonSchema;
}

/** A JSON Schema object (draft 2020-12). */
export type JsonSchema = { [keyword: string]: unknown };

/** What a `jsonSchema` hook may ask of the generator (core/config/json-schema.ts). */
export interface JsonSchemaContext {
  /** The JSON Schema of a nested schema, found at `at` (a key or index, for the error of a schema without a hook). */
  of(schema: Schema, at: string): JsonSchema;
  /** A `$ref` to a shared definition built once, for recursive (lazy) schemas. */
  ref(key: object, build: () => JsonSchema): JsonSchema;
}

export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

export function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path === '' ? key : `${path}.${key}`;
}

function mismatch(issues: Issue[], path: string, expected: string, value: unknown): void {
  issues.push({ path, message: `expected ${expected}, got ${typeName(value)}` });
}

export function string(opts: { nonEmpty?: boolean; pattern?: RegExp; patternHint?: string } = {}): Schema {
  return {
    describe: 'string',
    check(value, path, issues) {
      if (typeof value !== 'string') return mismatch(issues, path, 'string', value);
      if (opts.nonEmpty && value.length === 0) issues.push({ path, message: 'must not be empty' });
      else if (opts.pattern && !opts.pattern.test(value)) {
        issues.push({ path, message: `expected ${opts.patternHint ?? opts.pattern.source}, got ${JSON.stringify(value)}` });
      }
    },
    jsonSchema: () => ({
      type: 'string',
      ...(opts.nonEmpty ? { minLength: 1 } : {}),
      // A flagged pattern (case-insensitive, ...) has no JSON Schema spelling: the hint says it instead.
      ...(opts.pattern && opts.pattern.flags === '' ? { pattern: opts.pattern.source } : {}),
      ...(opts.patternHint ? { description: opts.patternHint } : {}),
      // Read by yaml-language-server and VS Code instead of "does not match the pattern ^(...)$".
      ...(opts.pattern && opts.patternHint ? { patternErrorMessage: `expected ${opts.patternHint}` } : {}),
    }),
  };
}

/** A string that must compile as a JavaScript regular expression. */
export function regex(): Schema {
  return {
    describe: 'string',
    check(value, path, issues) {
      if (typeof value !== 'string') return mismatch(issues, path, 'string', value);
      try {
        new RegExp(value);
      } catch (err) {
        issues.push({ path, message: `invalid regular expression ${JSON.stringify(value)}: ${(err as Error).message}` });
      }
    },
    jsonSchema: () => ({ type: 'string', format: 'regex' }),
  };
}

export function number(opts: { integer?: boolean; min?: number; max?: number } = {}): Schema {
  const describe = opts.integer ? 'integer' : 'number';
  return {
    describe,
    check(value, path, issues) {
      if (typeof value !== 'number' || Number.isNaN(value)) return mismatch(issues, path, describe, value);
      if (opts.integer && !Number.isInteger(value)) return mismatch(issues, path, 'integer', value);
      if (opts.min !== undefined && value < opts.min) issues.push({ path, message: `must be >= ${opts.min}, got ${value}` });
      if (opts.max !== undefined && value > opts.max) issues.push({ path, message: `must be <= ${opts.max}, got ${value}` });
    },
    jsonSchema: () => ({
      type: opts.integer ? 'integer' : 'number',
      ...(opts.min !== undefined ? { minimum: opts.min } : {}),
      ...(opts.max !== undefined ? { maximum: opts.max } : {}),
    }),
  };
}

export function boolean(): Schema {
  return {
    describe: 'boolean',
    check(value, path, issues) {
      if (typeof value !== 'boolean') mismatch(issues, path, 'boolean', value);
    },
    jsonSchema: () => ({ type: 'boolean' }),
  };
}

export function literal(...values: Array<string | number | boolean>): Schema {
  const describe = values.map((v) => JSON.stringify(v)).join(' | ');
  return {
    describe,
    check(value, path, issues) {
      if (!values.includes(value as string)) {
        issues.push({ path, message: `expected ${describe}, got ${JSON.stringify(value) ?? 'undefined'}` });
      }
    },
    jsonSchema: () => (values.length === 1 ? { const: values[0] } : { enum: [...values] }),
  };
}

export function array(item: Schema, opts: { minItems?: number } = {}): Schema {
  return {
    describe: `array of ${item.describe}`,
    check(value, path, issues) {
      if (!Array.isArray(value)) return mismatch(issues, path, 'array', value);
      if (opts.minItems !== undefined && value.length < opts.minItems) {
        issues.push({ path, message: `expected at least ${opts.minItems} item(s), got ${value.length}` });
      }
      value.forEach((v, i) => item.check(v, join(path, i), issues));
    },
    jsonSchema: (ctx) => ({ type: 'array', items: ctx.of(item, '[]'), ...(opts.minItems !== undefined ? { minItems: opts.minItems } : {}) }),
  };
}

export function record(item: Schema): Schema {
  return {
    describe: `object of ${item.describe}`,
    check(value, path, issues) {
      if (!isPlainObject(value)) return mismatch(issues, path, 'object', value);
      for (const [k, v] of Object.entries(value)) item.check(v, join(path, k), issues);
    },
    jsonSchema: (ctx) => ({ type: 'object', additionalProperties: ctx.of(item, '*') }),
  };
}

export interface ObjectOptions {
  /** Keys that must be present. */
  required?: string[];
  /** Exactly one of these keys must be present. */
  exactlyOne?: string[];
  /** Extra checks once the shape is valid. */
  refine?: (value: Record<string, unknown>, path: string, issues: Issue[]) => void;
  /**
   * Run `refine` even when the shape has errors, so that one run reports the cross-key rules (backends, duplicate
   * names) beside the type errors. The refine must then expect malformed values; if it throws on one anyway, what it
   * found is dropped (the shape's own errors already say what is wrong there).
   */
  refineAlways?: boolean;
}

/** An object whose keys are all declared: unknown keys are errors. */
export function object(shape: Record<string, Schema>, opts: ObjectOptions = {}): Schema {
  const known = Object.keys(shape);
  return {
    describe: 'object',
    check(value, path, issues) {
      if (!isPlainObject(value)) return mismatch(issues, path, 'object', value);
      const before = issues.length;
      for (const key of Object.keys(value)) {
        if (!(key in shape)) {
          issues.push({ path: join(path, key), message: `unknown key (expected one of: ${known.join(', ')})` });
        }
      }
      for (const key of opts.required ?? []) {
        if (value[key] === undefined) issues.push({ path: join(path, key), message: `is required (${shape[key].describe})` });
      }
      if (opts.exactlyOne) {
        const present = opts.exactlyOne.filter((k) => value[k] !== undefined);
        if (present.length !== 1) {
          issues.push({
            path,
            message: `expected exactly one of ${opts.exactlyOne.join(', ')}, got ${present.length === 0 ? 'none' : present.join(', ')}`,
          });
        }
      }
      for (const [key, schema] of Object.entries(shape)) {
        if (value[key] !== undefined) schema.check(value[key], join(path, key), issues);
      }
      if (opts.refine && issues.length === before) opts.refine(value, path, issues);
      else if (opts.refine && opts.refineAlways) {
        const found: Issue[] = [];
        try {
          opts.refine(value, path, found);
          issues.push(...found);
        } catch {
          // A malformed value the refine could not walk: its schema errors are already reported.
        }
      }
    },
    jsonSchema: (ctx) => ({
      type: 'object',
      properties: Object.fromEntries(Object.entries(shape).map(([key, schema]) => [key, ctx.of(schema, key)])),
      additionalProperties: false,
      ...(opts.required?.length ? { required: [...opts.required] } : {}),
      ...(opts.exactlyOne ? { oneOf: opts.exactlyOne.map((key) => ({ required: [key] })) } : {}),
    }),
  };
}

/** The first schema whose `when` accepts the value checks it; the message lists what was expected otherwise. */
export function oneOf(describe: string, options: Array<{ when: (v: unknown) => boolean; schema: Schema }>): Schema {
  return {
    describe,
    check(value, path, issues) {
      const option = options.find((o) => o.when(value));
      if (!option) return mismatch(issues, path, describe, value);
      option.schema.check(value, path, issues);
    },
    // `when` picks the option; JSON Schema has no such guard, so any option may accept (the options' types differ).
    jsonSchema: (ctx) => ({ anyOf: options.map((o, i) => ctx.of(o.schema, `<${i}>`)), description: describe }),
  };
}

/** Defers building a schema, for recursive or late-bound shapes. */
export function lazy(build: () => Schema): Schema {
  let built: Schema | undefined;
  return {
    get describe() {
      return (built ??= build()).describe;
    },
    check(value, path, issues) {
      (built ??= build()).check(value, path, issues);
    },
    jsonSchema(ctx) {
      return ctx.ref(this, () => ctx.of((built ??= build()), ''));
    },
  };
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

export function formatIssues(issues: Issue[]): string {
  return issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('\n');
}
