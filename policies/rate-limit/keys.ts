import { createHash } from 'node:crypto';
import type { MessageContext, RequestContext } from '../../core/pipeline/index.ts';
import type { RateLimitKeyPart } from '../../sdk-types/rate-limit.ts';

/** Builds a limit's bucket key from a request (and, for message limits, the message). */
export type KeyBuilder = (ctx: RequestContext, message?: MessageContext) => string;

/** The value of a part that is not there (no identity, no such header): such callers share one bucket. */
const MISSING = '-';
/** Between parts: a control character, which no header value can hold. */
const SEPARATOR = '\u001f';
/** Longer keys (a long header value) are hashed, so a caller cannot make the store hold large keys. */
const MAX_KEY_LENGTH = 200;

type PartReader = KeyBuilder;

function headerValue(v: string | string[] | undefined): string {
  if (v === undefined) return MISSING;
  return Array.isArray(v) ? v.join(',') : v;
}

function claimValue(v: unknown): string {
  if (v === undefined || v === null) return MISSING;
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function reader(part: RateLimitKeyPart, clientAddress: (peer: string, xff: string | string[] | undefined) => string): PartReader {
  if (typeof part === 'object') {
    if ('claim' in part) {
      const claim = part.claim;
      return (ctx) => claimValue(ctx.identity?.claims[claim]);
    }
    if ('header' in part) {
      const name = part.header.toLowerCase();
      return (ctx) => headerValue(ctx.clientHeaders[name]);
    }
    const constant = part.constant;
    return () => constant;
  }
  switch (part) {
    case 'subject':
      return (ctx) => (ctx.identity && ctx.identity.kind !== 'anonymous' ? ctx.identity.subject : MISSING);
    case 'apiKey':
      return (ctx) => (ctx.identity?.kind === 'apiKey' ? ctx.identity.subject : MISSING);
    case 'clientAddress':
      return (ctx) => clientAddress(ctx.clientAddress, ctx.clientHeaders['x-forwarded-for']) || MISSING;
    case 'route':
      return (ctx) => ctx.routeName;
    case 'method':
      return (_ctx, m) => m?.a2a?.method ?? m?.method ?? MISSING;
    case 'tool':
      return (_ctx, m) => m?.tool ?? MISSING;
    case 'skill':
      return (_ctx, m) => m?.a2a?.skill ?? MISSING;
  }
}

function bounded(key: string): string {
  return key.length <= MAX_KEY_LENGTH ? key : `#${createHash('sha256').update(key).digest('base64url')}`;
}

/** Compiles a key once, at load: no parts is one shared bucket, one part is read as is, more are joined. */
export function compileKey(parts: readonly RateLimitKeyPart[], clientAddress: (peer: string, xff: string | string[] | undefined) => string): KeyBuilder {
  const readers = parts.map((p) => reader(p, clientAddress));
  if (readers.length === 0) return () => '';
  if (readers.length === 1) {
    const [only] = readers;
    return (ctx, m) => bounded(only(ctx, m));
  }
  return (ctx, m) => {
    let key = readers[0](ctx, m);
    for (let i = 1; i < readers.length; i++) key += SEPARATOR + readers[i](ctx, m);
    return bounded(key);
  };
}
