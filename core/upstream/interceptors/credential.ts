import { withHeader } from '../handler.ts';
import type { UpstreamInterceptor } from '../types.ts';

export type CredentialOptions =
  /** Sends the gateway's own credential. */
  | { header: string; value: string }
  /** Sends what the client sent in `from` (read from the dispatch's `clientHeaders`), or nothing when it sent none. */
  | { header: string; passthrough: { from: string } };

const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;

/**
 * Sets the backend's credential header on every attempt. The gateway's own credential is fixed when built; a
 * client's credential passed through is read from the dispatch options of each call, so nothing of one request
 * reaches another.
 */
export function createCredentialInterceptor(options: CredentialOptions): UpstreamInterceptor {
  const header = options.header.toLowerCase();
  if (!TOKEN.test(header)) throw new TypeError(`the credential header must be an HTTP header name, got "${options.header}"`);
  if ('value' in options) {
    const value = options.value;
    if (/[\r\n\0]/.test(value)) throw new TypeError('the credential must not contain line breaks or NUL');
    return (dispatch) =>
      function credential(opts, handler) {
        return dispatch({ ...opts, headers: withHeader(opts.headers, header, value) }, handler);
      };
  }
  const from = options.passthrough.from.toLowerCase();
  if (!TOKEN.test(from)) throw new TypeError(`the passthrough header must be an HTTP header name, got "${options.passthrough.from}"`);
  return (dispatch) =>
    function passthroughCredential(opts, handler) {
      const sent = opts.clientHeaders?.[from];
      const value = Array.isArray(sent) ? sent[0] : sent;
      return dispatch({ ...opts, headers: withHeader(opts.headers, header, value) }, handler);
    };
}
