import { isPlainObject } from './schema.ts';

/**
 * Reads agentgateway's local-config spellings into Portcullis' model. The two share binds → listeners → routes →
 * backends → policies; what differs is agentgateway's top-level `config` block and its duration strings
 * (`requestTimeout: 10s`), which become our `...Ms` numbers. Everything else passes unchanged to validation, so
 * an unsupported field is reported with its path rather than silently dropped.
 */
export function fromAgentgateway(raw: unknown): unknown {
  if (!isPlainObject(raw)) return raw;
  const out: Record<string, unknown> = { ...raw };
  if (isPlainObject(raw.config)) {
    const { adminAddr, readinessAddr, statsAddr, logging, ...rest } = raw.config;
    if (adminAddr !== undefined) out.admin = { address: adminAddr };
    if (readinessAddr !== undefined) out.readiness = { address: readinessAddr };
    if (statsAddr !== undefined) out.stats = { address: statsAddr };
    if (isPlainObject(logging) && logging.level !== undefined) out.logging = { level: logging.level };
    delete out.config;
    // Keys we do not serve stay visible to validation under their agentgateway path.
    if (Object.keys(rest).length > 0) out.config = rest;
  }
  if (Array.isArray(out.binds)) {
    out.binds = out.binds.map((bind) => mapEach(bind, 'listeners', (listener) => {
      const l = mapPolicies(listener);
      return mapEach(l, 'routes', mapPolicies);
    }));
  }
  return out;
}

function mapEach(value: unknown, key: string, fn: (v: unknown) => unknown): unknown {
  if (!isPlainObject(value) || !Array.isArray(value[key])) return value;
  return { ...value, [key]: value[key].map(fn) };
}

function mapPolicies(holder: unknown): unknown {
  if (!isPlainObject(holder) || !isPlainObject(holder.policies)) return holder;
  const policies = { ...holder.policies };
  if (isPlainObject(policies.timeout)) {
    policies.timeout = renameDurations(policies.timeout, ['requestTimeout', 'backendRequestTimeout']);
  }
  if (isPlainObject(policies.retry)) policies.retry = renameDurations(policies.retry, ['backoff']);
  return { ...holder, policies };
}

function renameDurations(obj: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  const out = { ...obj };
  for (const key of keys) {
    if (out[key] === undefined) continue;
    const ms = parseDuration(out[key]);
    // An unparsable duration is left under its own name; validation then reports it as an unknown key with a path.
    if (ms === undefined) continue;
    delete out[key];
    out[`${key}Ms`] = ms;
  }
  return out;
}

/** `250ms`, `10s`, `1.5m`, `1h` or a number of milliseconds. */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  if (typeof value !== 'string') return undefined;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(value.trim());
  if (!m) return undefined;
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(m[1]) * factor);
}
