import { createHash } from 'node:crypto';
import type { McpOpenApiOperationFilter, McpOpenApiTarget } from '../../../../../sdk-types/openapi.ts';
import { resolvePointer, type OpenApiDocument } from './load.ts';
import { isBinaryString, SchemaConverter } from './schema.ts';

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
const MAX_NAME = 64;
/** Header parameters OpenAPI says are ignored: the call sets them itself. */
const IGNORED_HEADERS = new Set(['accept', 'content-type', 'authorization']);

type Json = Record<string, any>;

export type ParamIn = 'path' | 'query' | 'header' | 'cookie';

export interface ParamSpec {
  name: string;
  in: ParamIn;
  /** The property of the tool's arguments that carries it. */
  key: string;
  style: string;
  explode: boolean;
  allowReserved: boolean;
  shape: 'primitive' | 'array' | 'object';
  /** A parameter given as `content: application/json`: sent as JSON text. */
  json: boolean;
}

export type BodyKind = 'json' | 'form' | 'multipart' | 'text' | 'binary';

export interface BodySpec {
  key: string;
  mediaType: string;
  kind: BodyKind;
  /** Multipart fields whose value is base64-encoded bytes, with their content type. */
  binaryFields: Map<string, string>;
}

/** One operation, made into a tool: what the client sees, and what a call needs. */
export interface OperationTool {
  name: string;
  method: string;
  path: string;
  operationId?: string;
  params: ParamSpec[];
  body?: BodySpec;
  /** The tool's JSON-RPC description: name, description, inputSchema, outputSchema, annotations. */
  tool: Json;
  /** The response's JSON is wrapped as `{ result }` (it is not an object, and structured content must be). */
  wrapOutput: boolean;
  /** Preferred response media type, for the Accept header. */
  accept: string;
  /** The operation's (or its path's) own first server, overriding the spec's. */
  server?: { url: string; variables?: Record<string, { default?: unknown }> };
}

export interface BuildResult {
  tools: OperationTool[];
  /** Operations left out, each with why (an unsupported feature): logged as warnings. */
  skipped: Array<{ operation: string; reason: string }>;
}

class Unsupported extends Error {}

/** Every selected operation of the spec as a tool, in spec order; operations using what is not supported are left out. */
export function buildOperations(doc: OpenApiDocument, version: '3.0' | '3.1', config: McpOpenApiTarget): BuildResult {
  const converter = new SchemaConverter(doc, version);
  const tools: OperationTool[] = [];
  const skipped: BuildResult['skipped'] = [];
  const used = new Set<string>();
  const overrides = config.overrides ?? {};
  for (const [path, rawItem] of Object.entries((doc.paths ?? {}) as Json)) {
    const item = deref(doc, rawItem) as Json | undefined;
    if (!item || typeof item !== 'object') continue;
    for (const method of HTTP_METHODS) {
      const op = item[method] as Json | undefined;
      if (!op || typeof op !== 'object') continue;
      const label = `${method.toUpperCase()} ${path}`;
      if (!selected(op, method, path, config)) continue;
      try {
        const built = buildOne(doc, converter, path, method, item, op);
        const override = (op.operationId && overrides[op.operationId]) || overrides[label];
        const wanted = override?.name ?? toolName(op.operationId, method, path);
        built.name = unique(wanted, used);
        built.tool.name = built.name;
        if (override?.description !== undefined) built.tool.description = override.description;
        tools.push(built);
      } catch (err) {
        if (!(err instanceof Unsupported)) throw err;
        skipped.push({ operation: op.operationId ? `${op.operationId} (${label})` : label, reason: err.message });
      }
    }
  }
  return { tools, skipped };
}

function deref(doc: OpenApiDocument, v: unknown, depth = 0): unknown {
  if (v && typeof v === 'object' && typeof (v as Json).$ref === 'string' && depth < 32) return deref(doc, resolvePointer(doc, (v as Json).$ref), depth + 1);
  return v;
}

function selected(op: Json, method: string, path: string, config: McpOpenApiTarget): boolean {
  const matches = (f: McpOpenApiOperationFilter) =>
    (!f.tags || f.tags.some((t) => (op.tags ?? []).includes(t))) &&
    (!f.paths || f.paths.some((g) => globToRegExp(g).test(path))) &&
    (!f.methods || f.methods.some((m) => m.toLowerCase() === method)) &&
    (!f.operationIds || f.operationIds.includes(op.operationId));
  if (config.include && !config.include.some(matches)) return false;
  return !(config.exclude ?? []).some(matches);
}

const globs = new Map<string, RegExp>();
/** `*` matches within one path segment, `**` across segments; everything else literally. */
export function globToRegExp(glob: string): RegExp {
  let re = globs.get(glob);
  if (!re) {
    const body = glob
      .split(/(\*\*|\*)/)
      .map((part) => (part === '**' ? '.*' : part === '*' ? '[^/]*' : part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')))
      .join('');
    re = new RegExp(`^${body}$`);
    globs.set(glob, re);
  }
  return re;
}

/**
 * A tool name within MCP's rules and the strictest clients' (letters, digits, `_`, `-`; at most 64): the
 * operationId with other characters replaced, else `<method>_<path segments>`. Too long a name keeps its start and
 * ends with a hash of the whole, so it stays stable and distinct.
 */
export function toolName(operationId: unknown, method: string, path: string): string {
  const clean = (s: string) => s.replace(/[^A-Za-z0-9_-]+/g, '_').replace(/_+/g, '_').replace(/^[_-]+|[_-]+$/g, '');
  let name = typeof operationId === 'string' ? clean(operationId) : '';
  if (!name) name = clean(`${method}_${path.replace(/[{}]/g, '')}`) || method;
  return fit(name);
}

function fit(name: string): string {
  if (name.length <= MAX_NAME) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  return `${name.slice(0, MAX_NAME - 9)}_${hash}`;
}

function unique(name: string, used: Set<string>): string {
  let candidate = name;
  for (let i = 2; used.has(candidate); i++) candidate = `${name.slice(0, MAX_NAME - String(i).length - 1)}_${i}`;
  used.add(candidate);
  return candidate;
}

function buildOne(doc: OpenApiDocument, converter: SchemaConverter, path: string, method: string, item: Json, op: Json): OperationTool {
  const merged = new Map<string, Json>();
  for (const raw of [...(item.parameters ?? []), ...(op.parameters ?? [])]) {
    const p = deref(doc, raw) as Json;
    if (!p || typeof p !== 'object') continue;
    merged.set(`${p.in}:${p.name}`, p);
  }
  const properties: Json = {};
  const required: string[] = [];
  const refs: Json = {};
  const params: ParamSpec[] = [];
  const taken = new Set<string>();
  const keyFor = (name: string, where: string) => {
    let key = taken.has(name) ? `${where}_${name}` : name;
    for (let i = 2; taken.has(key); i++) key = `${where}_${name}_${i}`;
    taken.add(key);
    return key;
  };
  for (const p of merged.values()) {
    if (!['path', 'query', 'header', 'cookie'].includes(p.in)) throw new Unsupported(`parameter "${p.name}" is in "${p.in}", which is not supported`);
    if (p.in === 'header' && IGNORED_HEADERS.has(String(p.name).toLowerCase())) continue;
    let schema = p.schema;
    let json = false;
    if (!schema && p.content) {
      const [type, media] = Object.entries(p.content as Json)[0] ?? [];
      if (!type || !isJsonType(type)) throw new Unsupported(`parameter "${p.name}" has content ${type ?? '(none)'}; only JSON content parameters are supported`);
      schema = (media as Json).schema ?? {};
      json = true;
    }
    const resolved = converter.deref(schema) ?? {};
    const shape = shapeOf(resolved);
    const style = p.style ?? (p.in === 'query' || p.in === 'cookie' ? 'form' : 'simple');
    checkStyle(p, style, shape);
    const key = keyFor(p.name, p.in);
    const built = converter.build(schema ?? {}, 'input');
    Object.assign(refs, built.defs);
    const prop = { ...(built.schema as Json) };
    if (p.description && !prop.description) prop.description = p.description;
    if (p.deprecated) prop.deprecated = true;
    if (p.example !== undefined && prop.examples === undefined) prop.examples = [p.example];
    properties[key] = prop;
    if (p.in === 'path' || p.required) required.push(key);
    params.push({ name: p.name, in: p.in, key, style, explode: p.explode ?? style === 'form', allowReserved: p.allowReserved === true, shape, json });
  }
  for (const m of path.matchAll(/\{([^}]+)\}/g)) {
    if (!params.some((p) => p.in === 'path' && p.name === m[1])) throw new Unsupported(`path variable {${m[1]}} has no path parameter`);
  }
  let body: BodySpec | undefined;
  const rb = deref(doc, op.requestBody) as Json | undefined;
  if (rb && rb.content) {
    const picked = pickBody(rb.content as Json);
    if (!picked) throw new Unsupported(`request body types ${Object.keys(rb.content).join(', ')} are not supported (JSON, form, multipart, text or binary)`);
    const [mediaType, media, kind] = picked;
    const key = keyFor('body', 'request');
    const built = converter.build(media.schema ?? (kind === 'binary' ? { type: 'string', format: 'binary' } : {}), 'input');
    Object.assign(refs, built.defs);
    const prop = { ...(built.schema as Json) };
    if (rb.description && !prop.description) prop.description = rb.description;
    properties[key] = prop;
    if (rb.required) required.push(key);
    const binaryFields = new Map<string, string>();
    if (kind === 'multipart') {
      const schema = converter.deref(media.schema) ?? {};
      for (const [name, s] of Object.entries((schema.properties ?? {}) as Json)) {
        const d = converter.deref(s);
        const encoding = media.encoding?.[name]?.contentType as string | undefined;
        if (isBinaryString(d)) binaryFields.set(name, encoding ?? (d?.contentMediaType as string | undefined) ?? 'application/octet-stream');
      }
    }
    body = { key, mediaType, kind, binaryFields };
  }
  const inputSchema: Json = { type: 'object', properties };
  if (required.length > 0) inputSchema.required = required;
  if (Object.keys(refs).length > 0) inputSchema.$defs = refs;
  const output = outputOf(doc, converter, op);
  const tool: Json = { name: '', description: describe(op, method, path), inputSchema };
  if (output.schema) tool.outputSchema = output.schema;
  if (op.summary) tool.title = String(op.summary);
  tool.annotations = annotations(method, op);
  const server = ((op.servers ?? item.servers) as OperationTool['server'][] | undefined)?.[0];
  return { name: '', method: method.toUpperCase(), path, operationId: op.operationId, params, body, tool, wrapOutput: output.wrap, accept: output.accept, server };
}

function shapeOf(schema: Json): ParamSpec['shape'] {
  const type = Array.isArray(schema.type) ? schema.type.find((t: string) => t !== 'null') : schema.type;
  if (type === 'array' || (!type && schema.items)) return 'array';
  if (type === 'object' || (!type && schema.properties)) return 'object';
  return 'primitive';
}

const STYLES: Record<ParamIn, string[]> = {
  path: ['simple', 'label', 'matrix'],
  query: ['form', 'spaceDelimited', 'pipeDelimited', 'deepObject'],
  header: ['simple'],
  cookie: ['form'],
};

function checkStyle(p: Json, style: string, shape: ParamSpec['shape']): void {
  if (!STYLES[p.in as ParamIn].includes(style)) throw new Unsupported(`parameter "${p.name}" (${p.in}) has style "${style}", which is not supported there`);
  if (style === 'deepObject' && shape !== 'object') throw new Unsupported(`parameter "${p.name}" has style deepObject but is not an object`);
}

export function isJsonType(type: string): boolean {
  const t = type.split(';')[0].trim().toLowerCase();
  return t === 'application/json' || t.endsWith('+json');
}

function pickBody(content: Json): [string, Json, BodyKind] | undefined {
  const entries = Object.entries(content) as Array<[string, Json]>;
  const lower = (t: string) => t.split(';')[0].trim().toLowerCase();
  const find = (pred: (t: string, m: Json) => boolean) => entries.find(([t, m]) => pred(lower(t), m ?? {}));
  const json = find((t) => isJsonType(t));
  if (json) return [json[0], json[1] ?? {}, 'json'];
  const form = find((t) => t === 'application/x-www-form-urlencoded');
  if (form) return [form[0], form[1] ?? {}, 'form'];
  const multipart = find((t) => t === 'multipart/form-data');
  if (multipart) return [multipart[0], multipart[1] ?? {}, 'multipart'];
  const text = find((t) => t.startsWith('text/'));
  if (text) return [text[0], text[1] ?? {}, 'text'];
  const binary = find((t, m) => t === 'application/octet-stream' || ((t.startsWith('image/') || t.startsWith('audio/') || t.startsWith('video/') || t === 'application/pdf' || t === '*/*') && (!m.schema || isBinaryString(m.schema))));
  if (binary) return [binary[0] === '*/*' ? 'application/octet-stream' : binary[0], binary[1] ?? {}, 'binary'];
  return undefined;
}

function outputOf(doc: OpenApiDocument, converter: SchemaConverter, op: Json): { schema?: Json; wrap: boolean; accept: string } {
  const responses = (op.responses ?? {}) as Json;
  const success = Object.keys(responses).filter((c) => /^2(\d\d|XX)$/i.test(c)).sort();
  let accept: string | undefined;
  let schema: unknown;
  let allJson = success.length > 0;
  for (const code of success) {
    const r = deref(doc, responses[code]) as Json | undefined;
    const content = (r?.content ?? {}) as Json;
    const types = Object.keys(content);
    const json = types.find(isJsonType);
    accept ??= json ?? types[0];
    if (!json) {
      allJson = false;
      continue;
    }
    if (schema === undefined && content[json]?.schema) schema = content[json].schema;
  }
  const acceptHeader = accept ? (isJsonType(accept) ? `${accept}, */*;q=0.5` : `${accept}, */*;q=0.5`) : 'application/json, */*;q=0.5';
  // An outputSchema obliges every successful result to carry matching structured content: declare one only when
  // every success answer is JSON.
  if (schema === undefined || !allJson) return { wrap: false, accept: acceptHeader };
  const built = converter.build(schema, 'output');
  const root = converter.deref(schema) ?? {};
  const isObject = shapeOf(root) === 'object' && !root.anyOf && !root.oneOf && !(Array.isArray(root.type) && root.type.includes('null')) && root.nullable !== true;
  const defs = Object.keys(built.defs).length > 0 ? { $defs: built.defs } : {};
  if (isObject) {
    const s = built.schema as Json;
    return { schema: s.$ref ? { type: 'object', allOf: [s], ...defs } : { ...s, type: 'object', ...defs }, wrap: false, accept: acceptHeader };
  }
  return { schema: { type: 'object', properties: { result: built.schema }, required: ['result'], ...defs }, wrap: true, accept: acceptHeader };
}

function describe(op: Json, method: string, path: string): string {
  const summary = typeof op.summary === 'string' ? op.summary.trim() : '';
  const description = typeof op.description === 'string' ? op.description.trim() : '';
  let text = summary && description && !description.startsWith(summary) ? `${summary}\n\n${description}` : description || summary || `${method.toUpperCase()} ${path}`;
  if (op.deprecated) text = `Deprecated. ${text}`;
  return text;
}

function annotations(method: string, op: Json): Json {
  const readOnly = method === 'get' || method === 'head' || method === 'options';
  const out: Json = { readOnlyHint: readOnly, openWorldHint: true };
  if (!readOnly) {
    out.destructiveHint = method === 'delete';
    out.idempotentHint = method === 'put' || method === 'delete';
  }
  if (op.summary) out.title = String(op.summary);
  return out;
}
