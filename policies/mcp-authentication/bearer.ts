import { Readable } from 'node:stream';
import type { BearerMethod } from '../../sdk-types/security.ts';
import type { RequestContext } from '../../core/pipeline/index.ts';
import { markSecretHeader } from '../authorization/index.ts';

/** A form body read to find `access_token` is at most this large (RFC 6750 bodies are small forms). */
export const FORM_BODY_LIMIT = 64 * 1024;

export type Found =
  | { token: string; method: BearerMethod; remove(): void }
  | { malformed: string; invalidRequest?: boolean }
  | undefined;

const BEARER = /^Bearer[ \t]+([A-Za-z0-9\-._~+/]+=*)[ \t]*$/i;

function header(ctx: RequestContext, name: string): string | undefined {
  const v = ctx.clientHeaders[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Reads the bearer token the way RFC 6750 section 2 allows and the policy announces: the `Authorization` header,
 * an `access_token` field of a form-encoded body, an `access_token` query parameter. A method that is not
 * announced is not read; a request that uses more than one is refused (section 2: "MUST NOT use more than one").
 */
export async function findBearer(ctx: RequestContext, methods: readonly BearerMethod[]): Promise<Found> {
  const found: Array<{ token: string; method: BearerMethod; remove(): void }> = [];
  if (methods.includes('header')) {
    const raw = header(ctx, 'authorization');
    if (raw !== undefined) {
      markSecretHeader(ctx, 'authorization');
      const m = BEARER.exec(raw);
      if (!m) return { malformed: 'the authorization header must be "Bearer <token>"' };
      found.push({ token: m[1], method: 'header', remove: () => delete ctx.requestHeaders.authorization });
    }
  }
  if (methods.includes('query') && ctx.search.includes('access_token')) {
    const params = new URLSearchParams(ctx.search.slice(1));
    const values = params.getAll('access_token');
    if (values.length > 1) return { malformed: 'the access_token query parameter is given more than once', invalidRequest: true };
    if (values.length === 1) {
      if (values[0] === '') return { malformed: 'the access_token query parameter is empty' };
      found.push({
        token: values[0],
        method: 'query',
        remove: () => {
          params.delete('access_token');
          const rest = params.toString();
          ctx.search = rest ? `?${rest}` : '';
        },
      });
    }
  }
  if (methods.includes('body') && ctx.body && ctx.method !== 'GET' && isForm(header(ctx, 'content-type'))) {
    const body = await readForm(ctx);
    if (typeof body === 'object') return body;
    const params = new URLSearchParams(body);
    const values = params.getAll('access_token');
    if (values.length > 1) return { malformed: 'the access_token body field is given more than once', invalidRequest: true };
    if (values.length === 1) {
      if (values[0] === '') return { malformed: 'the access_token body field is empty' };
      found.push({
        token: values[0],
        method: 'body',
        remove: () => {
          params.delete('access_token');
          setBody(ctx, Buffer.from(params.toString()));
        },
      });
    }
  }
  if (found.length > 1) return { malformed: `the token is given in more than one way (${found.map((f) => f.method).join(', ')}); use one`, invalidRequest: true };
  return found[0];
}

function isForm(contentType: string | undefined): boolean {
  return contentType !== undefined && contentType.split(';')[0].trim().toLowerCase() === 'application/x-www-form-urlencoded';
}

/** Reads the whole (small) form body and puts it back, so the backend still gets it. */
async function readForm(ctx: RequestContext): Promise<string | { malformed: string; invalidRequest: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.body!) {
    size += (chunk as Buffer).length;
    if (size > FORM_BODY_LIMIT) {
      ctx.body!.destroy();
      return { malformed: `a form body carrying access_token must be at most ${FORM_BODY_LIMIT} bytes`, invalidRequest: true };
    }
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  }
  const body = Buffer.concat(chunks);
  setBody(ctx, body);
  return body.toString('utf8');
}

function setBody(ctx: RequestContext, body: Buffer): void {
  ctx.body = Readable.from([body]);
  ctx.requestHeaders['content-length'] = String(body.length);
  delete ctx.requestHeaders['transfer-encoding'];
}
