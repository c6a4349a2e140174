import { Readable } from 'node:stream';
import type { HeaderMap } from '../pipeline/index.ts';

/** Header values as filters see them: one string each, repeated headers joined with `, `. */
export function flattenHeaders(headers: HeaderMap): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : String(v);
  }
  return out;
}

/** `?a=1&a=2&b=3` as `{ a: ['1', '2'], b: '3' }`. */
export function parseQuery(search: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  if (search.length <= 1) return out;
  for (const [k, v] of new URLSearchParams(search)) {
    const prior = out[k];
    out[k] = prior === undefined ? v : Array.isArray(prior) ? [...prior, v] : [prior, v];
  }
  return out;
}

export function isJsonType(contentType: string | string[] | undefined): boolean {
  const t = (Array.isArray(contentType) ? contentType[0] : contentType)?.split(';')[0].trim().toLowerCase();
  return t === 'application/json' || (t !== undefined && t.endsWith('+json'));
}

/** A body read up to a cap: whole (`complete`), or the part read and a stream that replays it and the rest. */
export type BufferedBody = { complete: true; buffer: Buffer } | { complete: false; stream: Readable };

/**
 * Reads a stream into memory up to `cap` bytes. Over the cap, nothing is lost: the returned stream yields what
 * was read, then the remainder, so an oversized body passes through unfiltered.
 */
export async function bufferUpTo(body: Readable, cap: number): Promise<BufferedBody> {
  const chunks: Buffer[] = [];
  let size = 0;
  const iterator = body[Symbol.asyncIterator]();
  while (true) {
    const { value, done } = await iterator.next();
    if (done) return { complete: true, buffer: Buffer.concat(chunks) };
    const chunk = typeof value === 'string' ? Buffer.from(value) : (value as Buffer);
    chunks.push(chunk);
    size += chunk.length;
    if (size > cap) {
      async function* replay() {
        yield* chunks;
        while (true) {
          const next = await iterator.next();
          if (next.done) return;
          yield next.value as Buffer;
        }
      }
      return { complete: false, stream: Readable.from(replay(), { objectMode: false }) };
    }
  }
}

/** Parses JSON, or undefined when it is not JSON. */
export function tryParseJson(buffer: Buffer): { value: unknown } | undefined {
  if (buffer.length === 0) return undefined;
  try {
    return { value: JSON.parse(buffer.toString('utf8')) };
  } catch {
    return undefined;
  }
}

/** A filter's body value as bytes: strings as they are, anything else as JSON. */
export function encodeBody(value: unknown): { bytes: Buffer; json: boolean } {
  if (typeof value === 'string') return { bytes: Buffer.from(value), json: false };
  return { bytes: Buffer.from(JSON.stringify(value)), json: true };
}

export function applyHeaderChanges(headers: HeaderMap, set: Array<[string, string]>, remove: string[]): void {
  for (const name of remove) delete headers[name];
  for (const [name, value] of set) headers[name] = value;
}
