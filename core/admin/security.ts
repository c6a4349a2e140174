import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { resolve } from 'node:path';
import type { SecretSource } from '../../sdk-types/security.ts';
import { ErrorCodes, GatewayError } from '../errors.ts';

const LOOPBACK_HOSTS = /^(localhost|[\w-]+\.localhost|127(\.\d{1,3}){3}|\[?::1\]?|\[?::ffff:127(\.\d{1,3}){3}\]?)$/i;

/** Whether a bind address only accepts connections from this machine. */
export function isLoopbackAddress(host: string): boolean {
  return LOOPBACK_HOSTS.test(host.replace(/^\[|\]$/g, ''));
}

/** The host name of a `Host` header, without the port. */
function hostName(header: string | undefined): string {
  if (!header) return '';
  if (header.startsWith('[')) return header.slice(0, header.indexOf(']') + 1);
  const colon = header.lastIndexOf(':');
  return colon === -1 ? header : header.slice(0, colon);
}

export interface AdminGuard {
  /** Set when the admin API requires a token. */
  readonly tokenRequired: boolean;
  /** True when the token was generated at start (no `admin.token` configured on a non-loopback address). */
  readonly generated: boolean;
  /** The generated token, to print once at start; undefined when configured or not required. */
  readonly printable?: string;
  /** The per-process CSRF token that state-changing calls must echo in `x-portcullis-csrf`. */
  readonly csrf: string;
  /** Throws PCL_ERR_ADMIN_UNAUTHORIZED (401) or PCL_ERR_FORBIDDEN (403) when the request may not read. */
  authorize(req: IncomingMessage): void;
  /** Throws PCL_ERR_ADMIN_CSRF (403) when a state-changing request lacks the CSRF token or comes cross-origin. */
  checkCsrf(req: IncomingMessage): void;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

function readToken(source: SecretSource, baseDir: string): string {
  if (source.secret !== undefined) return source.secret;
  if (source.env !== undefined) {
    const v = process.env[source.env];
    if (!v) throw new GatewayError(ErrorCodes.CONFIG_INVALID, `admin.token.env: environment variable ${source.env} is not set`);
    return v;
  }
  const file = resolve(baseDir, source.file!);
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new GatewayError(ErrorCodes.CONFIG_INVALID, `admin.token.file: cannot read ${file}: ${(err as Error).message}`);
  }
  if (!text) throw new GatewayError(ErrorCodes.CONFIG_INVALID, `admin.token.file: ${file} is empty`);
  return text;
}

/**
 * The admin server's access rules. On loopback with no token configured, anyone on this machine may read, but
 * only through a loopback `Host` (a web page cannot reach it by DNS rebinding). Anywhere else, or with
 * `admin.token`, every call needs `Authorization: Bearer <token>`. POSTs need the CSRF token and a same-origin
 * `Origin` when the browser sends one.
 */
export function createAdminGuard(options: { host: string; token?: SecretSource; baseDir: string }): AdminGuard {
  const loopback = isLoopbackAddress(options.host);
  let token: string | undefined;
  let generated = false;
  if (options.token) token = readToken(options.token, options.baseDir);
  else if (!loopback) {
    token = randomBytes(24).toString('base64url');
    generated = true;
  }
  const expected = token === undefined ? undefined : digest(token);
  const csrf = randomBytes(24).toString('base64url');
  return {
    tokenRequired: expected !== undefined,
    generated,
    printable: generated ? token : undefined,
    csrf,
    authorize(req) {
      if (expected === undefined) {
        const host = hostName(req.headers.host);
        if (!isLoopbackAddress(host)) {
          throw new GatewayError(ErrorCodes.FORBIDDEN, `the admin server answers loopback host names only (got Host "${host}"); set admin.token to serve others`);
        }
        return;
      }
      const header = req.headers.authorization ?? '';
      const m = /^Bearer\s+(\S+)$/i.exec(header);
      if (!m) throw new GatewayError(ErrorCodes.ADMIN_UNAUTHORIZED, 'the admin API needs its token: Authorization: Bearer <admin token>');
      if (!timingSafeEqual(digest(m[1]), expected)) throw new GatewayError(ErrorCodes.ADMIN_UNAUTHORIZED, 'wrong admin token');
    },
    checkCsrf(req) {
      const sent = req.headers['x-portcullis-csrf'];
      if (typeof sent !== 'string' || !timingSafeEqual(digest(sent), digest(csrf))) {
        throw new GatewayError(ErrorCodes.ADMIN_CSRF, 'missing or wrong x-portcullis-csrf header: read it from GET /api/session');
      }
      const origin = req.headers.origin;
      if (origin !== undefined && origin !== 'null') {
        let originHost: string;
        try {
          originHost = new URL(origin).host;
        } catch {
          originHost = '';
        }
        if (originHost !== req.headers.host) throw new GatewayError(ErrorCodes.ADMIN_CSRF, `cross-origin admin call refused (Origin ${origin})`);
      } else if (origin === 'null') throw new GatewayError(ErrorCodes.ADMIN_CSRF, 'cross-origin admin call refused (Origin null)');
      const type = req.headers['content-type'] ?? '';
      if (!/^application\/json\b/i.test(type)) throw new GatewayError(ErrorCodes.ADMIN_CSRF, 'admin POSTs must be application/json');
    },
  };
}
