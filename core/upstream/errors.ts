import { ErrorCodes, GatewayError } from '../errors.ts';

const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);

/**
 * A failed attempt, mapped to the gateway's catalogue: it names the backend and says whether the failure happened
 * while connecting (nothing reached the backend, so another attempt is safe).
 */
export class UpstreamAttemptError extends GatewayError {
  readonly backend: string;
  readonly connectFailure: boolean;
  constructor(code: GatewayError['code'], message: string, backend: string, connectFailure: boolean, cause: unknown) {
    super(code, message, { cause });
    this.backend = backend;
    this.connectFailure = connectFailure;
  }
}

/** The error's string code (undici's and Node's), else its cause's; DOMException's numeric codes are not ones. */
function codeOf(err: unknown): string | undefined {
  const e = err as { code?: unknown; cause?: { code?: unknown } } | undefined;
  if (typeof e?.code === 'string') return e.code;
  return typeof e?.cause?.code === 'string' ? e.cause.code : undefined;
}

/** True when the failure happened while connecting, so nothing reached the backend and a retry is safe. */
export function isConnectFailure(err: unknown): boolean {
  if (err instanceof UpstreamAttemptError) return err.connectFailure;
  if (err instanceof GatewayError) return false;
  const code = codeOf(err);
  if (code === undefined) return false;
  return CONNECT_CODES.has(code) || isTlsFailure(code);
}

function isTlsFailure(code: string): boolean {
  return (
    code.startsWith('ERR_TLS_') ||
    code.startsWith('ERR_SSL_') ||
    code.includes('CERT') ||
    code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' ||
    code === 'SELF_SIGNED_CERT_IN_CHAIN' ||
    code === 'DEPTH_ZERO_SELF_SIGNED_CERT'
  );
}

/**
 * Maps an undici failure to the gateway's error catalogue, keeping the original as `cause`. A GatewayError (an
 * abort's reason, an error an interceptor raised) passes unchanged.
 */
export function mapUpstreamError(err: unknown, backend: string, headersTimeoutMs?: number): GatewayError {
  if (err instanceof GatewayError) return err;
  const code = codeOf(err);
  const detail = (err as Error)?.message ?? String(err);
  const connect = isConnectFailure(err);
  const fail = (errorCode: GatewayError['code'], message: string) => new UpstreamAttemptError(errorCode, message, backend, connect, err);
  if (code === 'UND_ERR_HEADERS_TIMEOUT') {
    return fail(ErrorCodes.UPSTREAM_TIMEOUT, `backend ${backend} did not answer within ${headersTimeoutMs === undefined ? 'the headers timeout' : `${headersTimeoutMs} ms`}`);
  }
  if (code === 'UND_ERR_CONNECT_TIMEOUT') return fail(ErrorCodes.BACKEND_UNREACHABLE, `backend ${backend} unreachable: connect timeout`);
  if (code !== undefined && isTlsFailure(code)) return fail(ErrorCodes.BACKEND_UNREACHABLE, `backend ${backend} unreachable: TLS failed (${code}): ${detail}`);
  if (connect) return fail(ErrorCodes.BACKEND_UNREACHABLE, `backend ${backend} unreachable (${code})`);
  return fail(ErrorCodes.BACKEND_UNREACHABLE, `backend ${backend} failed: ${detail}`);
}
