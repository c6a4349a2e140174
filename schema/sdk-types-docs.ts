import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import type { JsonSchema } from '../core/schema/schema.ts';

/**
 * Walks the generated JSON Schema and the hand-written `GatewayConfig` type of sdk-types side by side, with the
 * TypeScript compiler: every object of the runtime schema is compared with the type at the same place (its keys,
 * and which are required), and each key gets the JSDoc of its property as `description`. The types stay written
 * by hand for their JSDoc and examples; this walk is what binds them to the validator.
 */

const SDK_TYPES = fileURLToPath(new URL('../sdk-types/index.ts', import.meta.url));

export interface TypeWalk {
  /** Places where the runtime schema and the type disagree, one line each. */
  mismatches: string[];
  /** Where object shapes were compared (for the test to see the walk reached every policy and backend). */
  compared: string[];
}

/** Adds descriptions to `schema` in place and returns what disagrees with sdk-types' `GatewayConfig`. */
export function annotateFromSdkTypes(schema: JsonSchema, rootType = 'GatewayConfig'): TypeWalk {
  const { checker, root } = sdkTypes(rootType);
  return walkTypes(schema, checker, root);
}

let compiled: { program: ts.Program; roots: Map<string, ts.Type> } | undefined;

/** The checker over sdk-types, built once per process (a program takes a second or two to build). */
function sdkTypes(rootType: string): { checker: ts.TypeChecker; root: ts.Type } {
  compiled ??= { program: createProgram(), roots: new Map() };
  const checker = compiled.program.getTypeChecker();
  let root = compiled.roots.get(rootType);
  if (!root) {
    const source = compiled.program.getSourceFile(SDK_TYPES);
    if (!source) throw new Error(`cannot read ${SDK_TYPES}`);
    const exported = checker.getExportsOfModule(checker.getSymbolAtLocation(source)!);
    const symbol = exported.find((s) => s.name === rootType);
    if (!symbol) throw new Error(`sdk-types exports no ${rootType}`);
    root = checker.getDeclaredTypeOfSymbol(checker.getAliasedSymbol(symbol) ?? symbol);
    compiled.roots.set(rootType, root);
  }
  return { checker, root };
}

function createProgram(): ts.Program {
  return ts.createProgram([SDK_TYPES], {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    allowImportingTsExtensions: true,
    noEmit: true,
    strict: true,
    skipLibCheck: true,
    types: [],
  });
}

function walkTypes(schema: JsonSchema, checker: ts.TypeChecker, root: ts.Type): TypeWalk {
  const defs = (schema.$defs ?? {}) as Record<string, JsonSchema>;
  const mismatches = new Set<string>();
  const seen = new Set<string>();
  const compared: string[] = [];

  const typeId = (t: ts.Type) => (t as unknown as { id: number }).id;
  const members = (t: ts.Type): ts.Type[] => (t.isUnion() ? t.types : [t]);
  const isArray = (t: ts.Type) => checker.isArrayType(t) || checker.isTupleType(t);
  const objectMembers = (t: ts.Type) =>
    members(t).filter((m) => !isArray(m) && (m.flags & ts.TypeFlags.Object || m.flags & ts.TypeFlags.Intersection) !== 0);

  function walk(node: JsonSchema, type: ts.Type, at: string): void {
    if (typeof node.$ref === 'string') {
      const name = node.$ref.replace('#/$defs/', '');
      const key = `${name}:${typeId(type)}`;
      // The same shape against the same type was compared already (request and response header modifiers).
      if (seen.has(key)) return void compared.push(at);
      seen.add(key);
      walk(defs[name], type, at);
    }
    for (const option of (node.anyOf ?? []) as JsonSchema[]) walk(option, narrow(option, type), at);
    if (node.type === 'array' && node.items) {
      const elements = members(type).filter(isArray).flatMap((m) => checker.getTypeArguments(m as ts.TypeReference));
      if (elements.length > 0) walk(node.items as JsonSchema, union(elements), `${at}[]`);
      return;
    }
    if (node.enum !== undefined || node.const !== undefined) return compareLiterals(node, type, at);
    if (typeof node.type === 'string' || Array.isArray(node.type)) comparePrimitive(node, type, at);
    if (node.type !== 'object') return;
    const objects = objectMembers(type);
    if (objects.length === 0) return;
    if (node.properties) compare(node, objects, at);
    else if (typeof node.additionalProperties === 'object') {
      const values = objects.map((m) => checker.getIndexInfoOfType(m, ts.IndexKind.String)?.type).filter((v) => v !== undefined);
      if (values.length > 0) walk(node.additionalProperties as JsonSchema, union(values), `${at}.*`);
    }
  }

  function compare(node: JsonSchema, objects: ts.Type[], at: string): void {
    // An open type (an index signature) says nothing about keys: nothing to compare. `Record<string, never>` is the
    // empty object, closed like the runtime's `object({})`.
    const open = (m: ts.Type) => {
      const index = checker.getIndexInfoOfType(m, ts.IndexKind.String);
      return index !== undefined && (index.type.flags & ts.TypeFlags.Never) === 0;
    };
    if (objects.some(open)) return;
    compared.push(at);
    const name = objects.map((m) => checker.typeToString(m)).join(' | ');
    const where = `${at || '(root)'} (${name.length > 80 ? `${name.slice(0, 77)}...` : name})`;
    const runtime = node.properties as Record<string, JsonSchema>;
    const runtimeRequired = new Set((node.required ?? []) as string[]);
    const props = new Map<string, { symbols: ts.Symbol[]; required: boolean }>();
    for (const m of objects) {
      const own = checker.getPropertiesOfType(m);
      for (const p of own) {
        const entry = props.get(p.name) ?? { symbols: [], required: true };
        entry.symbols.push(p);
        if (p.flags & ts.SymbolFlags.Optional) entry.required = false;
        props.set(p.name, entry);
      }
    }
    // A key is required by a union only when every member requires it.
    for (const [key, entry] of props) if (entry.symbols.length < objects.length) entry.required = false;

    for (const key of Object.keys(runtime)) {
      if (!props.has(key)) mismatches.add(`${where}: the runtime schema accepts "${key}", the type has no such property`);
    }
    for (const [key, entry] of props) {
      const child = runtime[key];
      if (!child) {
        mismatches.add(`${where}: the type has "${key}", the runtime schema refuses it`);
        continue;
      }
      if (entry.required !== runtimeRequired.has(key)) {
        mismatches.add(`${where}: "${key}" is ${entry.required ? 'required' : 'optional'} in the type, ${runtimeRequired.has(key) ? 'required' : 'optional'} in the runtime schema`);
      }
      const doc = documentation(entry.symbols);
      if (doc) describe(child, doc);
      const types = entry.symbols.map((s) => checker.getNonNullableType(checker.getTypeOfSymbol(s)));
      walk(child, union(types), at ? `${at}.${key}` : key);
    }
  }

  /** The JSON type of a TypeScript type, when it is one (`any`, `unknown` and type parameters say nothing). */
  function jsonKind(m: ts.Type): string | undefined {
    if (m.flags & ts.TypeFlags.StringLike) return 'string';
    if (m.flags & ts.TypeFlags.NumberLike) return 'number';
    if (m.flags & ts.TypeFlags.BooleanLike) return 'boolean';
    if (m.flags & ts.TypeFlags.Null) return 'null';
    if (isArray(m)) return 'array';
    if (m.flags & (ts.TypeFlags.Object | ts.TypeFlags.Intersection)) return 'object';
    return undefined;
  }

  /** A value of one JSON type in the runtime schema must be a value the type allows. */
  function comparePrimitive(node: JsonSchema, type: ts.Type, at: string): void {
    const kinds = members(type).map(jsonKind);
    if (kinds.includes(undefined)) return;
    const runtime = (Array.isArray(node.type) ? node.type : [node.type]).map((t) => (t === 'integer' ? 'number' : String(t)));
    const where = `${at || '(root)'} (${checker.typeToString(type)})`;
    for (const kind of runtime) if (!kinds.includes(kind)) mismatches.add(`${where}: the runtime schema accepts a ${kind} here, the type does not`);
  }

  /** A closed list of values (`literal(...)`) against a union of literal types: the same values. */
  function compareLiterals(node: JsonSchema, type: ts.Type, at: string): void {
    const parts = members(type);
    if (!parts.every((m) => m.isLiteral() || (m.flags & ts.TypeFlags.BooleanLiteral) !== 0)) return;
    const typed = new Set(parts.map((m) => (m.isLiteral() ? String(m.value) : checker.typeToString(m))));
    const runtime = new Set(((node.enum as unknown[] | undefined) ?? [node.const]).map(String));
    const where = `${at || '(root)'} (${checker.typeToString(type)})`;
    for (const v of runtime) if (!typed.has(v)) mismatches.add(`${where}: the runtime schema accepts ${JSON.stringify(v)}, the type does not`);
    for (const v of typed) if (!runtime.has(v)) mismatches.add(`${where}: the type allows ${JSON.stringify(v)}, the runtime schema refuses it`);
  }

  /** The members of a union an object option of `anyOf` stands for: those sharing a key with it (all if none do). */
  function narrow(option: JsonSchema, type: ts.Type): ts.Type {
    const resolved = typeof option.$ref === 'string' ? defs[option.$ref.replace('#/$defs/', '')] : option;
    const keys = Object.keys((resolved?.properties ?? {}) as object);
    if (keys.length === 0) return type;
    const fitting = objectMembers(type).filter((m) => keys.some((k) => checker.getPropertyOfType(m, k)));
    return fitting.length > 0 ? union(fitting) : type;
  }

  function union(types: ts.Type[]): ts.Type {
    if (types.length === 1) return types[0];
    // The checker has no public union constructor: a type whose members are the members of each.
    const flat = types.flatMap(members);
    return { isUnion: () => true, types: flat, flags: ts.TypeFlags.Union, id: flat.map(typeId).join('|') } as unknown as ts.Type;
  }

  function documentation(symbols: ts.Symbol[]): string | undefined {
    for (const s of symbols) {
      const text = ts.displayPartsToString(s.getDocumentationComment(checker)).trim();
      const tags = s.getJsDocTags(checker);
      const dflt = tags.find((t) => t.name === 'default');
      const extra = dflt?.text ? ` Default: ${ts.displayPartsToString(dflt.text).trim()}.` : '';
      if (text) return `${text}${extra}`;
    }
    return undefined;
  }

  walk(schema, root, '');
  return { mismatches: [...mismatches].sort(), compared };
}

/** The type's words first; the schema's own hint (a pattern in words) after them when it adds something. */
function describe(node: JsonSchema, doc: string): void {
  const hint = typeof node.description === 'string' ? node.description : undefined;
  node.description = hint && !doc.includes(hint) ? `${doc}\n\n(${hint})` : doc;
}
