import { createHash } from 'node:crypto';

/**
 * Builtins OPA's WebAssembly target leaves to the host, implemented here so policies can use them. Anything else
 * the compiled policy imports is refused when the policy is loaded (see `checkBuiltins`), never at request time.
 *
 * Regular expressions run on JavaScript's engine, not Go's RE2: the common syntax (classes, groups, anchors,
 * `$1` references) behaves the same; RE2-only syntax does not.
 */
const NS_PER_MS = 1e6;
const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const DURATION_UNITS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

function utc(ns: unknown): Date {
  // time.date and friends accept a number or [number, timezone]; only UTC is served here.
  if (Array.isArray(ns)) {
    const tz = ns[1];
    if (tz !== undefined && tz !== '' && tz !== 'UTC') throw new Error(`time zone "${String(tz)}" is not supported by the gateway (use UTC)`);
    ns = ns[0];
  }
  if (typeof ns !== 'number') throw new Error('expected a number of nanoseconds');
  return new Date(Math.floor(ns / NS_PER_MS));
}

function parseDuration(text: string): number {
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let sign = 1;
  let rest = text;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    sign = rest[0] === '-' ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  let consumed = 0;
  for (let m = re.exec(rest); m; m = re.exec(rest)) {
    total += Number(m[1]) * DURATION_UNITS[m[2]];
    consumed = re.lastIndex;
  }
  if (consumed === 0 || consumed !== rest.length) throw new Error(`time: invalid duration "${text}"`);
  return sign * total;
}

function base64UrlJson(part: string): unknown {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}

export const HOST_BUILTINS: Record<string, (...args: any[]) => unknown> = {
  'time.now_ns': () => Date.now() * NS_PER_MS,
  'time.parse_rfc3339_ns': (s: string) => {
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(s)) throw new Error(`time.parse_rfc3339_ns: invalid time "${s}"`);
    return Date.parse(s) * NS_PER_MS;
  },
  'time.parse_duration_ns': (s: string) => parseDuration(s),
  'time.date': (ns: unknown) => {
    const d = utc(ns);
    return [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()];
  },
  'time.clock': (ns: unknown) => {
    const d = utc(ns);
    return [d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()];
  },
  'time.weekday': (ns: unknown) => WEEKDAYS[utc(ns).getUTCDay()],
  'time.add_date': (ns: number, years: number, months: number, days: number) => {
    const d = new Date(Math.floor(ns / NS_PER_MS));
    d.setUTCFullYear(d.getUTCFullYear() + years, d.getUTCMonth() + months, d.getUTCDate() + days);
    return d.getTime() * NS_PER_MS + (ns % NS_PER_MS);
  },
  'regex.replace': (s: string, pattern: string, value: string) => s.replace(new RegExp(pattern, 'g'), value),
  'regex.find_n': (pattern: string, s: string, n: number) => {
    const all = [...s.matchAll(new RegExp(pattern, 'g'))].map((m) => m[0]);
    return n < 0 ? all : all.slice(0, n);
  },
  'crypto.sha256': (s: string) => createHash('sha256').update(s).digest('hex'),
  // Decoding only, as in OPA: the signature is not checked (authentication policies verify tokens).
  'io.jwt.decode': (token: string) => {
    const parts = String(token).split('.');
    if (parts.length !== 3) throw new Error('io.jwt.decode: token must have three parts');
    return [base64UrlJson(parts[0]), base64UrlJson(parts[1]), Buffer.from(parts[2], 'base64url').toString('hex')];
  },
};

/** Builtins @open-policy-agent/opa-wasm implements itself. */
const SDK_BUILTINS = ['json.is_valid', 'regex.split', 'sprintf', 'yaml.is_valid', 'yaml.marshal', 'yaml.unmarshal'];

export const SUPPORTED_BUILTINS: ReadonlySet<string> = new Set([...Object.keys(HOST_BUILTINS), ...SDK_BUILTINS]);

/**
 * Supported builtins whose result depends on their arguments alone. A policy that uses only these (and OPA's own,
 * compiled into the module, which are all deterministic) decides the same input the same way every time; a policy
 * that reads the clock (`time.now_ns`) does not, and is evaluated on every call.
 */
export const PURE_BUILTINS: ReadonlySet<string> = new Set([
  'time.parse_rfc3339_ns',
  'time.parse_duration_ns',
  'time.date',
  'time.clock',
  'time.weekday',
  'time.add_date',
  'regex.replace',
  'regex.find_n',
  'crypto.sha256',
  'io.jwt.decode',
  ...SDK_BUILTINS,
]);
