import type { PiiKind } from '../../sdk-types/filter-policies.ts';

/** A compiled redaction rule: a global regular expression and an optional check on each match. */
export interface PiiPattern {
  name: string;
  regex: RegExp;
  accept?: (match: string) => boolean;
}

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

// Order matters: cards and national ids are redacted before phone numbers, whose pattern would take their digits.
export const BUILTIN: Record<PiiKind, PiiPattern> = {
  email: { name: 'email', regex: /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g },
  paymentCard: {
    name: 'paymentCard',
    regex: /(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])/g,
    accept: (m) => {
      const digits = m.replace(/[ -]/g, '');
      return digits.length >= 13 && digits.length <= 19 && luhn(digits);
    },
  },
  // US social security numbers (not 000/666/9xx areas) and UK national insurance numbers.
  nationalId: { name: 'nationalId', regex: /\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b|\b[A-CEGHJ-PR-TW-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b/g },
  // International (+CC ...), (area) local, or three separated groups, with 8-15 digits: bare integers, dates and
  // two-part order numbers stay.
  phone: {
    name: 'phone',
    regex: /(?<![\w+])(?:\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,5}|\(\d{2,4}\)[ .-]?\d{3,4}[ .-]?\d{3,4}|\d{2,4}[ .-]\d{3,4}[ .-]\d{3,4})(?!\w)/g,
    accept: (m) => {
      const n = m.replace(/\D/g, '').length;
      return n >= 8 && n <= 15;
    },
  },
};

export const KIND_ORDER: PiiKind[] = ['email', 'paymentCard', 'nationalId', 'phone'];

/** Replaces every accepted match of every pattern; returns the same string when nothing matched. */
export function redactText(text: string, patterns: readonly PiiPattern[], replacement: string): string {
  let out = text;
  for (const p of patterns) {
    p.regex.lastIndex = 0;
    out = out.replace(p.regex, (m) => (p.accept && !p.accept(m) ? m : replacement.replaceAll('{kind}', p.name)));
  }
  return out;
}

/** Redacts every string (values, not keys) of a JSON value; returns `changed` so unchanged data is not re-encoded. */
export function redactJson(value: unknown, patterns: readonly PiiPattern[], replacement: string): { value: unknown; changed: boolean } {
  let changed = false;
  const walk = (v: unknown, depth: number): unknown => {
    if (typeof v === 'string') {
      const r = redactText(v, patterns, replacement);
      if (r !== v) changed = true;
      return r;
    }
    if (depth > 64 || v === null || typeof v !== 'object') return v;
    if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = walk(x, depth + 1);
    return out;
  };
  const result = walk(value, 0);
  return { value: changed ? result : value, changed };
}
