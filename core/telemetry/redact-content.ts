/**
 * The `redacted` form of tool-call content exported to Langfuse: personal data and credentials masked in every
 * string of a JSON value, fields with secret-looking names replaced whole, the result cut at a size limit. It
 * follows the same kinds as the pii-redaction filter policy (core cannot import policies), with plain linear
 * patterns on bounded input.
 */

const MAX_OUTPUT = 32 * 1024;
const MAX_STRING = 16 * 1024;
const MAX_DEPTH = 32;

const SECRET_FIELD = /(secret|password|passwd|token|api[-_]?key|authorization|cookie|credential|private[-_]?key)/i;

const PATTERNS: Array<{ name: string; regex: RegExp; accept?: (m: string) => boolean }> = [
  { name: 'jwt', regex: /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}/g },
  { name: 'bearer', regex: /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/g },
  { name: 'apiKey', regex: /\b(sk|pk|rk|ghp|gho|ghs|xox[abp])[-_][A-Za-z0-9_-]{12,}\b|\bAKIA[0-9A-Z]{16}\b/g },
  { name: 'email', regex: /\b[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,24}\b/g },
  { name: 'card', regex: /\b\d(?:[ -]?\d){12,18}\b/g, accept: (m) => luhn(m.replace(/\D/g, '')) },
  { name: 'ssn', regex: /\b\d{3}-\d{2}-\d{4}\b/g },
  { name: 'iban', regex: /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b/g },
  { name: 'phone', regex: /(?<![\w.])\+\d{1,3}[ .-]?\(?\d{1,4}\)?(?:[ .-]?\d{2,4}){2,4}\b/g },
];

function luhn(digits: string): boolean {
  if (digits.length < 13 || digits.length > 19) return false;
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

export function redactText(text: string): string {
  let out = text.length > MAX_STRING ? `${text.slice(0, MAX_STRING)}…[truncated]` : text;
  for (const p of PATTERNS) out = out.replace(p.regex, (m) => (!p.accept || p.accept(m) ? `[${p.name}]` : m));
  return out;
}

function walk(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return redactText(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return '[too deep]';
  if (Array.isArray(value)) return value.map((v) => walk(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_FIELD.test(k) && v !== null && typeof v !== 'object' ? '[redacted]' : walk(v, depth + 1);
  return out;
}

/** Content as exported: JSON text, redacted or not, cut at 32 KiB; undefined for `none` or no content. */
export function captureContent(value: unknown, mode: 'full' | 'redacted' | 'none'): string | undefined {
  if (mode === 'none' || value === undefined) return undefined;
  let text: string;
  try {
    text = JSON.stringify(mode === 'redacted' ? walk(value, 0) : value) ?? '';
  } catch {
    return '[unserializable]';
  }
  return text.length > MAX_OUTPUT ? `${text.slice(0, MAX_OUTPUT)}…[truncated]` : text;
}
