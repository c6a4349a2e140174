import { ErrorCodes, GatewayError } from '../../errors.ts';

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

function codeOf(err: unknown): string | undefined {
  const e = err as { code?: string; cause?: { code?: string } } | undefined;
  return e?.code ?? e?.cause?.code;
}

/** True when the failure happened while connecting, so nothing reached the backend and a retry is safe. */
export function isConnectFailure(err: unknown): boolean {
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

/** Maps an undici failure to the gateway's error catalogue, keeping the original as `cause`. */
export function mapUpstreamError(err: unknown, backend: string, timeoutMs?: number): GatewayError {
  if (err instanceof GatewayError) return err;
  const code = codeOf(err);
  const detail = (err as Error)?.message ?? String(err);
  if (code === 'UND_ERR_HEADERS_TIMEOUT') {
    return new GatewayError(
      ErrorCodes.UPSTREAM_TIMEOUT,
      `backend ${backend} did not answer within ${timeoutMs === undefined ? 'the headers timeout' : `${timeoutMs} ms`}`,
      { cause: err },
    );
  }
  if (code === 'UND_ERR_CONNECT_TIMEOUT') {
    return new GatewayError(ErrorCodes.BACKEND_UNREACHABLE, `backend ${backend} unreachable: connect timeout`, { cause: err });
  }
  if (code !== undefined && isTlsFailure(code)) {
    return new GatewayError(ErrorCodes.BACKEND_UNREACHABLE, `backend ${backend} unreachable: TLS failed (${code}): ${detail}`, { cause: err });
  }
  if (isConnectFailure(err)) {
    return new GatewayError(ErrorCodes.BACKEND_UNREACHABLE, `backend ${backend} unreachable (${code})`, { cause: err });
  }
  return new GatewayError(ErrorCodes.BACKEND_UNREACHABLE, `backend ${backend} failed: ${detail}`, { cause: err });
}
