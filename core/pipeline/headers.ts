import type { IncomingHttpHeaders } from 'node:http';
import type { HeaderMap } from './types.ts';

/** Headers that describe one connection, not the message: never forwarded (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** A copy without hop-by-hop headers, including those the `Connection` header names. */
export function stripHopByHop(headers: HeaderMap | IncomingHttpHeaders): HeaderMap {
  const out: HeaderMap = {};
  const connection = headers.connection;
  const named = connection === undefined ? undefined : namedByConnection(connection);
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || HOP_BY_HOP.has(name) || (named !== undefined && named.includes(name))) continue;
    out[name] = value;
  }
  return out;
}

/**
 * The header names a `Connection` header lists, or undefined when it names none beyond the hop-by-hop ones: the
 * usual `keep-alive` and `close` are answered without splitting a string.
 */
function namedByConnection(connection: string | string[]): string[] | undefined {
  const value = (Array.isArray(connection) ? connection.join(',') : String(connection)).toLowerCase();
  if (value === 'keep-alive' || value === 'close' || value === '') return undefined;
  return value.split(',').map((s) => s.trim());
}

/** Appends the client to `X-Forwarded-For` and sets `X-Forwarded-Proto` and `X-Forwarded-Host`. */
export function addForwardedHeaders(headers: HeaderMap, clientAddress: string, scheme: string, host: string | undefined): void {
  const prior = headers['x-forwarded-for'];
  headers['x-forwarded-for'] = prior ? `${Array.isArray(prior) ? prior.join(', ') : prior}, ${clientAddress}` : clientAddress;
  headers['x-forwarded-proto'] = scheme;
  if (host !== undefined) headers['x-forwarded-host'] = host;
}
