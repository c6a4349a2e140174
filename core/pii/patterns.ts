import type { PiiKind } from '../../sdk-types/filter-policies.ts';
import { compileLinear, ScanTooExpensive, stepBudget, type LinearRegex } from '../regex/index.ts';

/** A compiled redaction rule: a linear-time pattern and an optional check on each match. */
export interface PiiPattern {
  name: string;
  regex: LinearRegex;
  accept?: (match: string) => boolean;
}

/**
 * Content the filter cannot redact with confidence: larger than the scan limit, nested too deep to walk, or a
 * scan that would exceed its step budget. The policy's `oversized` rule decides what happens to it.
 */
export class Uninspectable extends Error {}

/** Objects and arrays nested deeper than this are not walked: the content counts as uninspectable. */
export const MAX_JSON_DEPTH = 64;

/** Payment card numbers are 13-19 digits that pass the Luhn check; the check keeps order ids and timestamps out. */
export function luhn(digits: string): boolean {
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

/** US social security numbers: not area 000, 666 or 9xx, not group 00, not serial 0000. */
function ssnAllowed(m: string): boolean {
  if (!/^\d{3}-/.test(m)) return true; // the UK national insurance form
  const [area, group, serial] = m.split('-');
  return area !== '000' && area !== '666' && area[0] !== '9' && group !== '00' && serial !== '0000';
}

// Order matters: cards and national ids are redacted before phone numbers, whose pattern would take their digits.
// Every pattern runs on the linear engine; lookarounds test one character only.
export const BUILTIN: Record<PiiKind, PiiPattern> = {
  email: { name: 'email', regex: compileLinear('[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,}') },
  paymentCard: {
    name: 'paymentCard',
    regex: compileLinear('(?<![\\d-])\\d(?:[ -]?\\d){12,18}(?![\\d-])'),
    accept: (m) => {
      const digits = m.replace(/[ -]/g, '');
      return digits.length >= 13 && digits.length <= 19 && luhn(digits);
    },
  },
  // US social security numbers and UK national insurance numbers.
  nationalId: {
    name: 'nationalId',
    regex: compileLinear('\\b\\d{3}-\\d{2}-\\d{4}\\b|\\b[A-CEGHJ-PR-TW-Z]{2} ?\\d{2} ?\\d{2} ?\\d{2} ?[A-D]\\b'),
    accept: ssnAllowed,
  },
  // International (+CC ...), (area) local, or three separated groups, with 8-15 digits: bare integers, dates and
  // two-part order numbers stay.
  phone: {
    name: 'phone',
    regex: compileLinear(
      '(?<![\\w+])(?:\\+\\d{1,3}(?:[ .-]?\\(?\\d{1,4}\\)?){2,5}|\\(\\d{2,4}\\)[ .-]?\\d{3,4}[ .-]?\\d{3,4}|\\d{2,4}[ .-]\\d{3,4}[ .-]\\d{3,4})(?!\\w)',
    ),
    accept: (m) => {
      const n = m.replace(/\D/g, '').length;
      return n >= 8 && n <= 15;
    },
  },
};

export const KIND_ORDER: PiiKind[] = ['email', 'paymentCard', 'nationalId', 'phone'];

/**
 * Replaces every accepted match of one pattern, searching on from the end of each match. All searches over the
 * text share one step budget, so restarts after matches cannot add up to quadratic work.
 */
function replaceMatches(text: string, p: PiiPattern, replacement: string): string {
  let budget = stepBudget(text.length);
  let parts: string[] | undefined;
  let last = 0;
  let from = 0;
  while (from < text.length) {
    let m: [number, number, number] | undefined;
    try {
      m = p.regex.search(text, from, budget);
    } catch (err) {
      if (err instanceof ScanTooExpensive) throw new Uninspectable(`too costly to scan for ${p.name} (${err.message})`);
      throw err;
    }
    budget -= p.regex.steps;
    if (!m) break;
    const [start, end] = m;
    if (end === start) {
      from = start + 1; // empty matches redact nothing
      continue;
    }
    if (!p.accept || p.accept(text.slice(start, end))) {
      (parts ??= []).push(text.slice(last, start), replacement.replaceAll('{kind}', p.name));
      last = end;
    }
    from = end;
  }
  if (!parts) return text;
  parts.push(text.slice(last));
  return parts.join('');
}

/** Replaces every accepted match of every pattern; returns the same string when nothing matched. */
export function redactText(text: string, patterns: readonly PiiPattern[], replacement: string): string {
  let out = text;
  for (const p of patterns) out = replaceMatches(out, p, replacement);
  return out;
}

/**
 * The UTF-8 size of the strings `redactJson` would scan; it stops counting once past `cap`. Throws
 * {@link Uninspectable} when the value nests deeper than {@link MAX_JSON_DEPTH}.
 */
export function textBytes(value: unknown, cap: number): number {
  let total = 0;
  const walk = (v: unknown, depth: number): void => {
    if (total > cap) return;
    if (typeof v === 'string') total += Buffer.byteLength(v);
    else if (v !== null && typeof v === 'object') {
      if (depth >= MAX_JSON_DEPTH) throw new Uninspectable(`nested deeper than ${MAX_JSON_DEPTH} levels`);
      for (const x of Array.isArray(v) ? v : Object.values(v)) walk(x, depth + 1);
    }
  };
  walk(value, 0);
  return total;
}

/**
 * Redacts every string (values, not keys) of a JSON value; returns `changed` so unchanged data is not re-encoded.
 * Throws {@link Uninspectable} for a value nested deeper than {@link MAX_JSON_DEPTH}: what is not walked is not
 * redacted, so it must not pass as if it had been.
 */
export function redactJson(value: unknown, patterns: readonly PiiPattern[], replacement: string): { value: unknown; changed: boolean } {
  let changed = false;
  const walk = (v: unknown, depth: number): unknown => {
    if (typeof v === 'string') {
      const r = redactText(v, patterns, replacement);
      if (r !== v) changed = true;
      return r;
    }
    if (v === null || typeof v !== 'object') return v;
    if (depth >= MAX_JSON_DEPTH) throw new Uninspectable(`nested deeper than ${MAX_JSON_DEPTH} levels`);
    if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = walk(x, depth + 1);
    return out;
  };
  const result = walk(value, 0);
  return { value: changed ? result : value, changed };
}
