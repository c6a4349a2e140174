import { headerNameSchema, s } from '../../core/config/index.ts';
import type { Issue, Schema } from '../../core/schema/index.ts';
import { isTimeZone, proxyEntryProblem, redisUrlProblem } from './engine/index.ts';

/** Key parts named by a word; the others are `{ claim }`, `{ header }`, `{ constant }`. */
export const KEY_WORDS = ['subject', 'apiKey', 'clientAddress', 'route', 'method', 'tool', 'skill'] as const;
/** Key parts that exist only on a protocol message. */
export const MESSAGE_KEY_WORDS: ReadonlySet<string> = new Set(['method', 'tool', 'skill']);

const positive = s.number({ integer: true, min: 1 });

const keyObject = s.object(
  { claim: s.string({ nonEmpty: true }), header: headerNameSchema, constant: s.string() },
  { exactlyOne: ['claim', 'header', 'constant'] },
);

const keyPart: Schema = {
  describe: 'key part',
  check(value, path, issues) {
    if (typeof value === 'string') {
      if (!(KEY_WORDS as readonly string[]).includes(value)) {
        issues.push({ path, message: `unknown key part ${JSON.stringify(value)} (expected one of: ${KEY_WORDS.join(', ')}, { claim }, { header }, { constant })` });
      }
      return;
    }
    if (s.isPlainObject(value)) return keyObject.check(value, path, issues);
    issues.push({ path, message: `expected a key part (${KEY_WORDS.join(', ')}, { claim }, { header }, { constant }), got ${s.typeName(value)}` });
  },
  jsonSchema: (ctx) => ({ anyOf: [{ enum: [...KEY_WORDS] }, ctx.of(keyObject, '')] }),
};

/** agentgateway's `type`: `requests` is what we count; `tokens` (LLM tokens) is named as not served. */
const limitType: Schema = {
  describe: '"requests"',
  check(value, path, issues) {
    if (value === 'tokens') {
      issues.push({ path, message: 'LLM token limits (agentgateway "type: tokens") are not served by Portcullis: it counts requests and protocol messages; use "requests" or leave type out' });
    } else if (value !== 'requests') issues.push({ path, message: `expected "requests", got ${JSON.stringify(value) ?? 'undefined'}` });
  },
  jsonSchema: () => ({ const: 'requests' }),
};

const timeZone: Schema = {
  describe: 'IANA time zone',
  check(value, path, issues) {
    if (typeof value !== 'string') {
      issues.push({ path, message: `expected an IANA time zone, got ${s.typeName(value)}` });
      return;
    }
    if (!isTimeZone(value)) issues.push({ path, message: `unknown time zone ${JSON.stringify(value)} (expected an IANA name such as "UTC" or "Europe/Paris")` });
  },
  jsonSchema: () => ({ type: 'string', description: 'an IANA time zone such as "UTC" or "Europe/Paris"' }),
};

const redisUrl: Schema = {
  describe: 'Redis URL',
  check(value, path, issues) {
    if (typeof value !== 'string') {
      issues.push({ path, message: `expected a Redis URL, got ${s.typeName(value)}` });
      return;
    }
    const problem = redisUrlProblem(value);
    if (problem) issues.push({ path, message: problem });
  },
  jsonSchema: () => ({ type: 'string', pattern: '^[Rr][Ee][Dd][Ii][Ss][Ss]?://', description: 'a redis:// or rediss:// URL' }),
};

const proxyEntry: Schema = {
  describe: 'IP address or CIDR range',
  check(value, path, issues) {
    if (typeof value !== 'string') {
      issues.push({ path, message: `expected an IP address or a CIDR range, got ${s.typeName(value)}` });
      return;
    }
    const problem = proxyEntryProblem(value);
    if (problem) issues.push({ path, message: problem });
  },
  jsonSchema: () => ({ type: 'string', description: 'an IP address or a CIDR range' }),
};

const limit = s.object(
  {
    name: s.string({ pattern: /^[A-Za-z0-9_.-]{1,64}$/, patternHint: 'a name of letters, digits, ".", "_" or "-" (at most 64)' }),
    key: s.array(keyPart),
    scope: s.literal('request', 'message'),
    methods: s.array(s.string({ nonEmpty: true }), { minItems: 1 }),
    tools: s.array(s.string({ nonEmpty: true }), { minItems: 1 }),
    skills: s.array(s.string({ nonEmpty: true }), { minItems: 1 }),
    rate: s.object({ limit: positive, windowMs: positive, burst: positive }, { required: ['limit', 'windowMs'] }),
    quota: s.object({ limit: positive, period: s.literal('hour', 'day', 'month'), timeZone }, { required: ['limit', 'period'] }),
    concurrency: s.object({ limit: positive }, { required: ['limit'] }),
    type: limitType,
  },
  {
    exactlyOne: ['rate', 'quota', 'concurrency'],
    refine(v, p, issues) {
      if (v.scope === 'message') return;
      for (const filter of ['methods', 'tools', 'skills']) {
        if (v[filter] !== undefined) issues.push({ path: `${p}.${filter}`, message: `filters protocol messages: set scope: "message" on this limit` });
      }
      ((v.key as unknown[] | undefined) ?? []).forEach((part, i) => {
        if (typeof part === 'string' && MESSAGE_KEY_WORDS.has(part)) {
          issues.push({ path: `${p}.key[${i}]`, message: `"${part}" exists only on protocol messages: set scope: "message" on this limit` });
        }
      });
    },
  },
);

const redisStore = s.object(
  { redis: s.object({ url: redisUrl, prefix: s.string(), timeoutMs: positive }, { required: ['url'] }) },
  { required: ['redis'] },
);

const store: Schema = {
  describe: '"local" | { redis }',
  check(value, path, issues) {
    if (value === 'local') return;
    if (!s.isPlainObject(value)) {
      issues.push({ path, message: `expected "local" or { redis: { url } }, got ${JSON.stringify(value) ?? 'undefined'}` });
      return;
    }
    redisStore.check(value, path, issues);
  },
  jsonSchema: (ctx) => ({ anyOf: [{ const: 'local' }, ctx.of(redisStore, '')] }),
};

export const rateLimitSchema: Schema = s.object(
  {
    limits: s.array(limit, { minItems: 1 }),
    store,
    failureMode: s.literal('failOpen', 'failClosed'),
    trustedProxies: s.array(proxyEntry),
    headers: s.boolean(),
    maxKeys: s.number({ integer: true, min: 1 }),
  },
  {
    required: ['limits'],
    refine(v, p, issues: Issue[]) {
      const seen = new Map<string, number>();
      (v.limits as Array<{ name?: string }>).forEach((l, i) => {
        const name = l.name ?? `limit${i}`;
        const first = seen.get(name);
        if (first !== undefined) issues.push({ path: `${p}.limits[${i}].name`, message: `duplicate limit name "${name}" (already used by limits[${first}])` });
        else seen.set(name, i);
      });
    },
  },
);
