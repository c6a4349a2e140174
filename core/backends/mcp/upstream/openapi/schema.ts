import { resolvePointer, type OpenApiDocument } from './load.ts';

/** Request schemas leave out `readOnly` properties; response schemas leave out `writeOnly` ones. */
export type SchemaMode = 'input' | 'output';

type Json = Record<string, unknown>;

/** Keywords that are OpenAPI's own (or annotations JSON Schema validators reject in strict mode): dropped. */
const DROPPED = new Set(['nullable', 'discriminator', 'xml', 'externalDocs', 'example']);
const SCHEMA_MAPS = ['properties', 'patternProperties', 'dependentSchemas', '$defs', 'definitions'];
const SCHEMA_LISTS = ['allOf', 'anyOf', 'oneOf', 'prefixItems'];
const SCHEMA_VALUES = ['additionalProperties', 'not', 'if', 'then', 'else', 'contains', 'propertyNames', 'unevaluatedProperties', 'unevaluatedItems', 'additionalItems'];

interface Converted {
  schema: unknown;
  /** Pointers of the component schemas it refers to (as `#/$defs/<name>`). */
  refs: Set<string>;
}

/**
 * Turns OpenAPI schemas into self-contained JSON Schema (draft 2020-12, what MCP tool schemas are): OpenAPI 3.0's
 * `nullable`, boolean `exclusiveMinimum`/`Maximum` and `example` become their JSON Schema forms; `$ref`s stay
 * references, into a `$defs` that holds each referenced schema once, so recursive schemas stay finite and large
 * specs stay small. Each referenced schema is converted once per mode and shared by every tool.
 */
export class SchemaConverter {
  private readonly doc: OpenApiDocument;
  private readonly v30: boolean;
  private readonly names = new Map<string, string>();
  private readonly taken = new Set<string>();
  private readonly cache = new Map<string, Converted>();

  constructor(doc: OpenApiDocument, version: '3.0' | '3.1') {
    this.doc = doc;
    this.v30 = version === '3.0';
  }

  /**
   * A schema ready for a tool: `root` converted, with a `$defs` holding every schema it reaches through `$ref`.
   * The `$defs` are returned apart so the caller can put the root under a property and the defs at the top.
   */
  build(root: unknown, mode: SchemaMode): { schema: unknown; defs: Json } {
    const refs = new Set<string>();
    const schema = this.convert(root, mode, refs);
    return { schema, defs: this.closure(refs, mode) };
  }

  /** The `$defs` needed by a set of pointers, transitively. */
  closure(start: Iterable<string>, mode: SchemaMode): Json {
    const defs: Json = {};
    const queue = [...start];
    const done = new Set<string>();
    while (queue.length > 0) {
      const pointer = queue.pop()!;
      if (done.has(pointer)) continue;
      done.add(pointer);
      const c = this.component(pointer, mode);
      defs[this.nameOf(pointer)] = c.schema;
      for (const r of c.refs) if (!done.has(r)) queue.push(r);
    }
    return defs;
  }

  /** Follows `$ref`s to the schema they name (for deciding a parameter's shape). */
  deref(schema: unknown, depth = 0): Json | undefined {
    if (!schema || typeof schema !== 'object') return undefined;
    const ref = (schema as Json).$ref;
    if (typeof ref === 'string' && depth < 32) return this.deref(resolvePointer(this.doc, ref), depth + 1);
    return schema as Json;
  }

  private component(pointer: string, mode: SchemaMode): Converted {
    const key = `${mode}:${pointer}`;
    let c = this.cache.get(key);
    if (!c) {
      const refs = new Set<string>();
      c = { schema: true, refs };
      this.cache.set(key, c); // set before converting: a schema that refers to itself finds itself here
      c.schema = this.convert(resolvePointer(this.doc, pointer), mode, refs);
    }
    return c;
  }

  private nameOf(pointer: string): string {
    let name = this.names.get(pointer);
    if (name) return name;
    const last = pointer.split('/').slice(pointer.startsWith('#/components/schemas/') ? 3 : 1).join('_');
    const base = last.replace(/~1/g, '_').replace(/~0/g, '_').replace(/[^A-Za-z0-9_.-]/g, '_') || 'schema';
    name = base;
    for (let i = 2; this.taken.has(name); i++) name = `${base}_${i}`;
    this.taken.add(name);
    this.names.set(pointer, name);
    return name;
  }

  private convert(node: unknown, mode: SchemaMode, refs: Set<string>): unknown {
    if (node === null || typeof node !== 'object' || Array.isArray(node)) return node ?? {};
    const src = node as Json;
    if (typeof src.$ref === 'string') {
      const ref = src.$ref;
      refs.add(ref);
      const target = { $ref: `#/$defs/${this.nameOf(ref)}` };
      // OpenAPI 3.0 ignores a $ref's siblings; 3.1 (JSON Schema 2020-12) applies them alongside.
      const { $ref: _, ...rest } = src;
      if (this.v30 || Object.keys(rest).length === 0) return target;
      return { ...target, ...(this.convert(rest, mode, refs) as Json) };
    }
    const out: Json = {};
    for (const [k, v] of Object.entries(src)) {
      if (DROPPED.has(k) || k.startsWith('x-')) continue;
      if (SCHEMA_MAPS.includes(k) && v && typeof v === 'object') {
        const m: Json = {};
        for (const [pk, pv] of Object.entries(v as Json)) {
          if (k === 'properties' && skipProperty(this.deref(pv), mode)) continue;
          m[pk] = this.convert(pv, mode, refs);
        }
        out[k] = m;
      } else if (SCHEMA_LISTS.includes(k) && Array.isArray(v)) {
        out[k] = v.map((s) => this.convert(s, mode, refs));
      } else if (k === 'items') {
        out[k] = Array.isArray(v) ? v.map((s) => this.convert(s, mode, refs)) : this.convert(v, mode, refs);
      } else if (SCHEMA_VALUES.includes(k) && v && typeof v === 'object') {
        out[k] = this.convert(v, mode, refs);
      } else {
        out[k] = v;
      }
    }
    if (Array.isArray(out.required) && out.properties) {
      const props = out.properties as Json;
      const original = (src.properties ?? {}) as Json;
      // A required property the mode leaves out (readOnly in a request) is not required of the caller.
      out.required = (out.required as string[]).filter((r) => r in props || !(r in original));
      if ((out.required as string[]).length === 0) delete out.required;
    }
    if (src.example !== undefined && out.examples === undefined) out.examples = [src.example];
    if (this.v30) {
      if (src.exclusiveMinimum === true && typeof src.minimum === 'number') {
        out.exclusiveMinimum = src.minimum;
        delete out.minimum;
      } else if (typeof src.exclusiveMinimum === 'boolean') delete out.exclusiveMinimum;
      if (src.exclusiveMaximum === true && typeof src.maximum === 'number') {
        out.exclusiveMaximum = src.maximum;
        delete out.maximum;
      } else if (typeof src.exclusiveMaximum === 'boolean') delete out.exclusiveMaximum;
    }
    if (mode === 'input' && isBinaryString(src)) {
      // Bytes travel in JSON as base64; the call decodes them.
      delete out.format;
      out.contentEncoding = 'base64';
      out.description = [src.description, '(base64-encoded bytes)'].filter(Boolean).join(' ');
    }
    if (this.v30 && src.nullable === true) return nullable(out);
    return out;
  }
}

function skipProperty(schema: Json | undefined, mode: SchemaMode): boolean {
  if (!schema) return false;
  return mode === 'input' ? schema.readOnly === true : schema.writeOnly === true;
}

/** A string schema that stands for raw bytes: OpenAPI 3.0 `format: binary`, or 3.1 `contentMediaType` without an encoding. */
export function isBinaryString(s: Json | undefined): boolean {
  if (!s) return false;
  const isString = s.type === 'string' || (Array.isArray(s.type) && s.type.includes('string'));
  if (!isString) return false;
  if (s.format === 'binary') return true;
  return typeof s.contentMediaType === 'string' && s.contentEncoding === undefined && !/^text\/|json|xml/.test(s.contentMediaType);
}

function nullable(schema: Json): Json {
  if (typeof schema.type === 'string') {
    const out: Json = { ...schema, type: [schema.type, 'null'] };
    if (Array.isArray(schema.enum) && !schema.enum.includes(null)) out.enum = [...schema.enum, null];
    return out;
  }
  if (Array.isArray(schema.type)) return schema.type.includes('null') ? schema : { ...schema, type: [...schema.type, 'null'] };
  return { anyOf: [schema, { type: 'null' }] };
}
