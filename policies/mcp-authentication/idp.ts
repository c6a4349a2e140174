import { ErrorCodes, GatewayError } from '../../core/errors.ts';

/** Largest document accepted from the identity provider (metadata, registration and token answers). */
export const IDP_BODY_LIMIT = 256 * 1024;

export interface IdpAnswer {
  status: number;
  contentType: string | undefined;
  body: Buffer;
}

/**
 * One call to the identity provider, bounded in time and size, never following redirects (a metadata or token
 * endpoint that redirects is misconfigured, and following would send the body elsewhere). Failures become
 * `PCL_ERR_IDP_UNREACHABLE` naming the URL and the reason; request bodies (credentials) are never in the message.
 */
export async function callIdp(url: string, init: { method?: string; headers?: Record<string, string>; body?: string | Buffer; timeoutMs: number; what: string }): Promise<IdpAnswer> {
  let res: Response;
  try {
    res = await fetch(url, { method: init.method ?? 'GET', headers: init.headers, body: init.body, redirect: 'manual', signal: AbortSignal.timeout(init.timeoutMs) });
  } catch (err) {
    throw unreachable(init.what, url, reasonOf(err, init.timeoutMs));
  }
  const declared = Number(res.headers.get('content-length') ?? 0);
  if (declared > IDP_BODY_LIMIT) {
    await res.body?.cancel();
    throw unreachable(init.what, url, `the answer is larger than ${IDP_BODY_LIMIT} bytes`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body ?? []) {
      size += chunk.length;
      if (size > IDP_BODY_LIMIT) throw new RangeError(`the answer is larger than ${IDP_BODY_LIMIT} bytes`);
      chunks.push(Buffer.from(chunk));
    }
  } catch (err) {
    await res.body?.cancel().catch(() => {});
    throw unreachable(init.what, url, reasonOf(err, init.timeoutMs));
  }
  return { status: res.status, contentType: res.headers.get('content-type') ?? undefined, body: Buffer.concat(chunks) };
}

/** Fetches a metadata document: a 200 with a JSON object, else a clear error with a stable code. */
export async function fetchMetadata(url: string, timeoutMs: number): Promise<Record<string, unknown>> {
  const answer = await callIdp(url, { headers: { accept: 'application/json' }, timeoutMs, what: 'metadata' });
  if (answer.status !== 200) throw unreachable('metadata', url, `it answered HTTP ${answer.status}`);
  let doc: unknown;
  try {
    doc = JSON.parse(answer.body.toString('utf8'));
  } catch {
    throw new GatewayError(ErrorCodes.IDP_METADATA_INVALID, `the identity provider's metadata at ${url} is not JSON`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new GatewayError(ErrorCodes.IDP_METADATA_INVALID, `the identity provider's metadata at ${url} is not a JSON object`);
  return doc as Record<string, unknown>;
}

function unreachable(what: string, url: string, reason: string): GatewayError {
  return new GatewayError(ErrorCodes.IDP_UNREACHABLE, `the identity provider's ${what} endpoint ${url} failed: ${reason}`);
}

function reasonOf(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError') return `no answer within ${timeoutMs} ms (idpTimeoutMs)`;
  if (e?.cause?.code) return e.cause.code;
  return e?.cause?.message ?? e?.message ?? String(err);
}
