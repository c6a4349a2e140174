import { BUILTIN, KIND_ORDER, redactText as redactPii, Uninspectable, type PiiPattern } from '../pii/index.ts';

/**
 * The `redacted` form of tool-call content exported to Langfuse: personal data masked with the pii-redaction
 * policy's own patterns (core/pii, one linear-time engine), credentials masked too, fields with secret-looking
 * names replaced whole, the result cut at a size limit. A string too costly to scan is replaced whole.
 */

const MAX_OUTPUT = 32 * 1024;
const MAX_STRING = 16 * 1024;
const MAX_DEPTH = 32;

const SECRET_FIELD = /(secret|password|passwd|token|api[-_]?key|authorization|cookie|credential|private[-_]?key)/i;

/** Credentials are not PII kinds of the policy; they are masked here before the PII patterns run. */
const CREDENTIALS: Array<{ name: string; regex: RegExp }> = [
  { name: 'jwt', regex: /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}/g },
  { name: 'bearer', regex: /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/g },
  { name: 'apiKey', regex: /\b(sk|pk|rk|ghp|gho|ghs|xox[abp])[-_][A-Za-z0-9_-]{12,}\b|\bAKIA[0-9A-Z]{16}\b/g },
];

const PII: readonly PiiPattern[] = KIND_ORDER.map((kind) => BUILTIN[kind]);

export function redactText(text: string): string {
  let out = text.length > MAX_STRING ? `${text.slice(0, MAX_STRING)}…[truncated]` : text;
  for (const c of CREDENTIALS) out = out.replace(c.regex, `[${c.name}]`);
  try {
    return redactPii(out, PII, '[{kind}]');
  } catch (err) {
    if (err instanceof Uninspectable) return '[uninspectable]';
    throw err;
  }
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
