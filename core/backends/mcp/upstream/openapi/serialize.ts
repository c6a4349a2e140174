import { FormData } from 'undici';
import type { BodySpec, ParamSpec } from './operations.ts';

/**
 * Parameter serialization by OpenAPI's `style` and `explode` (OpenAPI 3.x, "Style Values" and "Style Examples"),
 * and request bodies by media type.
 */

type Json = Record<string, unknown>;

/** RFC 3986 reserved characters, kept as they are in query values with `allowReserved`. */
const RESERVED = /[:/?#[\]@!$&'()*+,;=]/;

function text(v: unknown): string {
  if (v === null || v === undefined) return '';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

function encode(v: string, allowReserved = false): string {
  if (!allowReserved) return encodeURIComponent(v);
  return [...v].map((c) => (RESERVED.test(c) ? c : encodeURIComponent(c))).join('');
}

function entries(v: unknown): Array<[string, unknown]> {
  return v && typeof v === 'object' && !Array.isArray(v) ? Object.entries(v as Json).filter(([, x]) => x !== undefined) : [];
}

/** An argument the gateway refuses to send, whatever the schema allowed: the message names the parameter. */
export class ArgumentError extends Error {}

/**
 * Whether a path has a `.` or `..` segment (also percent-encoded: WHATWG URL, which undici uses, resolves `%2e`
 * like `.`), which would climb out of the operation's path to another of the upstream's.
 */
export function hasDotSegment(path: string): boolean {
  return path.split('/').some((seg) => {
    const s = seg.replace(/%2e/gi, '.');
    return s === '.' || s === '..';
  });
}

/** A path parameter's value, ready to put in place of `{name}` (simple, label, matrix). */
export function serializePath(p: ParamSpec, raw: unknown): string {
  const value = p.json ? JSON.stringify(raw) : raw;
  const enc = (s: unknown) => encode(text(s));
  const { name, explode } = p;
  const list = Array.isArray(value) ? value : undefined;
  const obj = !list && value && typeof value === 'object' ? entries(value) : undefined;
  switch (p.style) {
    case 'label': {
      if (list) return '.' + list.map(enc).join(explode ? '.' : ',');
      if (obj) return '.' + (explode ? obj.map(([k, v]) => `${enc(k)}=${enc(v)}`).join('.') : obj.flatMap(([k, v]) => [enc(k), enc(v)]).join(','));
      return '.' + enc(value);
    }
    case 'matrix': {
      if (list) return explode ? list.map((v) => `;${name}=${enc(v)}`).join('') : `;${name}=${list.map(enc).join(',')}`;
      if (obj) return explode ? obj.map(([k, v]) => `;${enc(k)}=${enc(v)}`).join('') : `;${name}=${obj.flatMap(([k, v]) => [enc(k), enc(v)]).join(',')}`;
      return `;${name}=${enc(value)}`;
    }
    default: {
      if (list) return list.map(enc).join(',');
      if (obj) return explode ? obj.map(([k, v]) => `${enc(k)}=${enc(v)}`).join(',') : obj.flatMap(([k, v]) => [enc(k), enc(v)]).join(',');
      return enc(value);
    }
  }
}

/** A query parameter as encoded `key=value` pairs (form, spaceDelimited, pipeDelimited, deepObject). */
export function serializeQuery(p: ParamSpec, raw: unknown): string[] {
  const value = p.json ? JSON.stringify(raw) : raw;
  const key = encodeURIComponent(p.name);
  const enc = (s: unknown) => encode(text(s), p.allowReserved);
  const list = Array.isArray(value) ? value : undefined;
  const obj = !list && value && typeof value === 'object' ? entries(value) : undefined;
  if (p.style === 'deepObject' && obj) return obj.map(([k, v]) => `${key}%5B${encodeURIComponent(k)}%5D=${enc(v)}`);
  if (list) {
    if (p.explode) return list.map((v) => `${key}=${enc(v)}`);
    const sep = p.style === 'spaceDelimited' ? '%20' : p.style === 'pipeDelimited' ? '%7C' : ',';
    return [`${key}=${list.map(enc).join(sep)}`];
  }
  if (obj) {
    if (p.explode) return obj.map(([k, v]) => `${encodeURIComponent(k)}=${enc(v)}`);
    return [`${key}=${obj.flatMap(([k, v]) => [enc(k), enc(v)]).join(',')}`];
  }
  return [`${key}=${enc(value)}`];
}

/** A header parameter's value (style simple; not percent-encoded). */
export function serializeHeader(p: ParamSpec, raw: unknown): string {
  const value = p.json ? JSON.stringify(raw) : raw;
  if (Array.isArray(value)) return value.map(text).join(',');
  if (value && typeof value === 'object') {
    return p.explode ? entries(value).map(([k, v]) => `${k}=${text(v)}`).join(',') : entries(value).flatMap(([k, v]) => [k, text(v)]).join(',');
  }
  return text(value);
}

/** RFC 6265 cookie-name (an RFC 7230 token): what an exploded object's keys must be to stay one cookie each. */
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * A cookie parameter as `name=value` pairs (style form). An exploded object's keys become cookie names: a key that
 * is not a cookie-name token (`a=b; admin`) is refused, never sent, since it would set cookies of its own choosing.
 */
export function serializeCookie(p: ParamSpec, raw: unknown): string[] {
  const value = p.json ? JSON.stringify(raw) : raw;
  const enc = (s: unknown) => encodeURIComponent(text(s));
  if (Array.isArray(value)) return p.explode ? value.map((v) => `${p.name}=${enc(v)}`) : [`${p.name}=${value.map(enc).join(',')}`];
  if (value && typeof value === 'object') {
    const obj = entries(value);
    if (p.explode) {
      const bad = obj.find(([k]) => !COOKIE_NAME.test(k));
      if (bad) throw new ArgumentError(`cookie parameter "${p.name}" has a key ${JSON.stringify(bad[0].slice(0, 100))} that is not a cookie name`);
      return obj.map(([k, v]) => `${k}=${enc(v)}`);
    }
    return [`${p.name}=${obj.flatMap(([k, v]) => [enc(k), enc(v)]).join(',')}`];
  }
  return [`${p.name}=${enc(value)}`];
}

/** The request body and its content type, by the body's media type. */
export function serializeBody(spec: BodySpec, value: unknown): { body: string | Buffer | FormData; contentType?: string } {
  switch (spec.kind) {
    case 'json':
      return { body: JSON.stringify(value), contentType: spec.mediaType };
    case 'text':
      return { body: text(value), contentType: spec.mediaType };
    case 'binary':
      return { body: Buffer.from(String(value ?? ''), 'base64'), contentType: spec.mediaType };
    case 'form': {
      // Style form, explode: arrays repeat their key, an object's properties become keys of their own.
      const pairs: string[] = [];
      const add = (k: string, v: unknown) => pairs.push(`${encodeURIComponent(k)}=${encodeURIComponent(text(v))}`);
      for (const [k, v] of entries(value)) {
        if (Array.isArray(v)) for (const item of v) add(k, item);
        else if (v && typeof v === 'object') for (const [ik, iv] of entries(v)) add(ik, iv);
        else add(k, v);
      }
      return { body: pairs.join('&'), contentType: 'application/x-www-form-urlencoded' };
    }
    case 'multipart': {
      // Content type (with its boundary) comes from the FormData itself.
      const form = new FormData();
      for (const [k, v] of entries(value)) {
        const binary = spec.binaryFields.get(k);
        const items = Array.isArray(v) && !binary ? v : [v];
        for (const item of items) {
          if (binary) form.append(k, new Blob([Buffer.from(String(item ?? ''), 'base64')], { type: binary }), k);
          else if (item && typeof item === 'object') form.append(k, new Blob([JSON.stringify(item)], { type: 'application/json' }));
          else form.append(k, text(item));
        }
      }
      return { body: form };
    }
  }
}
