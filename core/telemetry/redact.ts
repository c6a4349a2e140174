/**
 * The one redaction of credentials for everything the gateway shows or writes about itself: config dumps
 * (`/config_dump`, `/api/config`, `/api/policies`, the UI that reads them), log lines (the start-up lines too),
 * error messages (validation and reload errors) and trace attributes. It goes by name (keys that name a secret,
 * every value of a header or environment map, header lists of `{ name, value }`, inline key sets) and by value
 * (userinfo and secret query parameters of any URL inside any string, bearer and basic credentials, JWTs and the
 * token shapes of well-known providers), so a secret is hidden wherever it is written.
 *
 * Linear patterns only, on input the caller already bounds; the walk is depth-limited.
 */

export const REDACTED = '[redacted]';

/** Keys whose values may be credentials (an argument named `password`, a claim named `api_key`). */
export const SECRET_KEY = /(secret|password|passwd|pwd|token|api[-_]?key|authorization|cookie|credential|private|signature)/i;
/** Objects whose every string value may be a credential: process environments and header maps. */
const SECRET_MAPS = /^(env|headers)$/i;
/** Policies that set headers: every header they set may carry a credential, whatever its name. */
const HEADER_POLICIES = /^(headerInjection|requestHeaderModifier|responseHeaderModifier|request_header_modifier|response_header_modifier)$/;
/** Key sets written inline: an HMAC key (`k`) or a private key's parameters are secrets. */
const JWK_PRIVATE = new Set(['k', 'd', 'p', 'q', 'dp', 'dq', 'qi']);
/** Query parameters that carry credentials. */
const SECRET_QUERY = /^(api[-_]?key|apikey|key|token|access[-_]?token|refresh[-_]?token|id[-_]?token|secret|client[-_]?secret|password|passwd|pwd|auth|authorization|sig|signature|x-amz-signature|x-goog-signature|code|session|sessionid|credential|private[-_]?key)$/i;

/** `scheme://user:password@` anywhere in a string. */
const USERINFO = /\b([a-z][a-z0-9+.-]{0,30}:\/\/)([^\s@"'<>]{1,512})@/gi;
/** `?name=value` / `&name=value` pairs. */
const QUERY_PAIR = /([?&;])([A-Za-z0-9_.-]{1,64})=([^&#\s"'<>]*)/g;
const TOKEN_SHAPES: RegExp[] = [
  /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, // JWT (signature may be empty: alg none)
  /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/g,
  /\b(sk|pk|rk)-(?:[a-z]+-)?[A-Za-z0-9_-]{16,}/g, // OpenAI, Anthropic (sk-ant-...), Stripe-like keys
  /\b(ghp|gho|ghs|ghu|ghr|github_pat|glpat|xox[abprs]|npm|hf)_[A-Za-z0-9_-]{16,}/g,
  /\b(AKIA|ASIA)[0-9A-Z]{16}\b/g,
  /\bAIza[0-9A-Za-z_-]{35}\b/g,
];

/** What any of the patterns below needs in a string: one test, so most strings (ids, paths, names) cost one scan. */
const SUSPECT = /[@=]|eyJ|Bearer|Basic|[spr]k-|gh[pousr]_|github_pat|glpat|xox|npm_|hf_|AKIA|ASIA|AIza/;

/** A string with every credential it carries replaced by `[redacted]`. */
export function redactString(text: string): string {
  if (text.length < 8 || !SUSPECT.test(text)) return text;
  let out = text;
  if (out.includes('@')) out = out.replace(USERINFO, (_m, scheme: string) => `${scheme}${REDACTED}@`);
  if (out.includes('=')) out = out.replace(QUERY_PAIR, (m, sep: string, name: string) => (SECRET_QUERY.test(name) ? `${sep}${name}=${REDACTED}` : m));
  for (const shape of TOKEN_SHAPES) {
    shape.lastIndex = 0;
    out = out.replace(shape, (m: string, kind?: string) => (kind === 'Bearer' || kind === 'Basic' ? `${kind} ${REDACTED}` : REDACTED));
  }
  return out;
}

const MAX_DEPTH = 64;

/**
 * A copy of a value for display, with credentials replaced: by name (see above) and by value (every string through
 * `redactString`); `key` names the value (a policy's name) when it is shown without its parent. Plain objects and arrays are copied; other objects (errors, buffers) are kept as they are
 * unless `errors` is set, in which case an error's message and stack are redacted too.
 */
export function redactSecrets<T>(value: T, key = ''): T {
  return walk(value, key, 0) as T;
}

function walk(value: unknown, key: string, depth: number, headerMap = SECRET_MAPS.test(key)): unknown {
  if (typeof value === 'string') return redactString(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth > MAX_DEPTH) return REDACTED;
  if (Array.isArray(value)) {
    if (headerMap) return value.map((v) => headerEntry(v, depth));
    let changed = false;
    const mapped = value.map((v) => {
      const r = walk(v, '', depth + 1);
      if (r !== v) changed = true;
      return r;
    });
    return changed ? mapped : value;
  }
  if (value instanceof Error) return value;
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  // Copy on write: an object with nothing to redact is returned as it is (log lines, the common case, allocate nothing).
  let out: Record<string, unknown> | undefined;
  const map = headerMap;
  const headerPolicy = HEADER_POLICIES.test(key);
  const jwk = typeof (value as Record<string, unknown>).kty === 'string';
  const source = value as Record<string, unknown>;
  for (const k in source) {
    if (!Object.hasOwn(source, k)) continue;
    const v = source[k];
    let r: unknown;
    if (v === undefined) r = v;
    else if ((map && typeof v === 'string') || (jwk && JWK_PRIVATE.has(k))) r = REDACTED;
    else if (map && Array.isArray(v)) r = v.map((x) => (typeof x === 'string' ? REDACTED : walk(x, '', depth + 1)));
    else if (SECRET_KEY.test(k) && v !== null && typeof v !== 'object' && typeof v !== 'boolean') r = REDACTED;
    else if (key === 'jwks' && k === 'inline') r = REDACTED;
    else r = walk(v, k, depth + 1, SECRET_MAPS.test(k) || (headerPolicy && k !== 'remove'));
    if (r !== v && out === undefined) {
      out = {};
      for (const prior in source) {
        if (prior === k) break;
        if (Object.hasOwn(source, prior) && source[prior] !== undefined) out[prior] = source[prior];
      }
    }
    if (out !== undefined && r !== undefined) out[k] = r;
  }
  return out ?? value;
}

/** A header list entry `{ name, value }`: the value may be a credential whatever the name. */
function headerEntry(v: unknown, depth: number): unknown {
  if (v && typeof v === 'object' && !Array.isArray(v) && typeof (v as { value?: unknown }).value === 'string') return { ...(walk(v, '', depth + 1) as object), value: REDACTED };
  return typeof v === 'string' ? REDACTED : walk(v, '', depth + 1);
}

/** An error whose message (and stack) went through `redactString`: for errors that are logged or answered. */
export function redactError<E extends Error>(err: E): E {
  const message = redactString(err.message);
  if (message !== err.message) {
    try {
      err.message = message;
      if (err.stack) err.stack = redactString(err.stack);
    } catch {
      // a frozen error keeps its message
    }
  }
  return err;
}
