import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { MessageContext } from '../../core/pipeline/index.ts';
import {
  createConcurrencyLimiter,
  createGcraLimiter,
  createQuotaLimiter,
  RedisGcraLimiter,
  RedisQuotaLimiter,
  type Clock,
  type ConcurrencyLimiter,
  type Limiter,
  type SharedRedis,
} from './engine/index.ts';
import { stateKey, type StateStore } from '../../core/state/index.ts';
import { publish, rateLimitChannel, type RateLimitEvent } from '../../core/telemetry/index.ts';
import type { RateLimitPolicy, RateLimitRule } from '../../sdk-types/rate-limit.ts';
import { policyMember } from './headers.ts';
import { compileKey, type KeyBuilder } from './keys.ts';

/** One limit of a policy, compiled once at load. */
export interface CompiledLimit {
  readonly name: string;
  readonly level: 'http' | 'message';
  readonly key: KeyBuilder;
  /** For message limits with filters: whether a message counts. */
  readonly matches?: (m: MessageContext) => boolean;
  /** Rate or quota. */
  readonly limiter?: Limiter;
  readonly concurrency?: ConcurrencyLimiter;
  /** Its `RateLimit-Policy` member (rate and quota limits). */
  readonly policyMember?: string;
  readonly store: 'local' | 'redis';
}

/**
 * What survives a reload in a policy's scope: its local limiters, by a hash of their definition. A limit whose
 * definition did not change finds its counters (and its in-flight slots) again; a changed one starts afresh.
 */
interface LocalEntry {
  limiter: Limiter | ConcurrencyLimiter;
  /** The build that last used it: entries two builds old are dropped. */
  generation: number;
}
interface LocalState {
  generation: number;
  entries: Map<string, LocalEntry>;
}
const LOCAL = stateKey<LocalState>('rateLimit.local');

export interface CompileOptions {
  state: StateStore;
  /** Scope id of the policy (route or listener). */
  scope: string;
  clock: Clock;
  clientAddress: (peer: string, xff: string | string[] | undefined) => string;
  redis?: { shared: SharedRedis; prefix: string };
  logger: Logger;
}

/** A stable hash of what a limit counts and how. */
function definitionHash(rule: RateLimitRule, maxKeys: number | undefined): string {
  const def = {
    maxKeys,
    key: rule.key ?? [],
    scope: rule.scope ?? 'request',
    methods: rule.methods,
    tools: rule.tools,
    skills: rule.skills,
    rate: rule.rate && { limit: rule.rate.limit, windowMs: rule.rate.windowMs, burst: rule.rate.burst ?? rule.rate.limit },
    quota: rule.quota && { limit: rule.quota.limit, period: rule.quota.period, timeZone: rule.quota.timeZone ?? 'UTC' },
    concurrency: rule.concurrency?.limit,
  };
  return createHash('sha256').update(JSON.stringify(def)).digest('base64url').slice(0, 16);
}

function messageFilter(rule: RateLimitRule): ((m: MessageContext) => boolean) | undefined {
  const methods = rule.methods && new Set(rule.methods);
  const tools = rule.tools && new Set(rule.tools);
  const skills = rule.skills && new Set(rule.skills);
  if (!methods && !tools && !skills) return undefined;
  return (m) => {
    if (methods && !methods.has(m.a2a?.method ?? m.method)) return false;
    if (tools && (m.tool === undefined || !tools.has(m.tool))) return false;
    if (skills && (m.a2a?.skill === undefined || !skills.has(m.a2a.skill))) return false;
    return true;
  };
}

/** The routes' own part of a scope id (`<bind>/<listener>/<route>` without the bind): the same on every replica. */
function portableScope(scope: string): string {
  const slash = scope.indexOf('/');
  return slash < 0 ? scope : scope.slice(slash + 1);
}

export function compileLimits(config: RateLimitPolicy, options: CompileOptions): CompiledLimit[] {
  const local = options.state.getOrCreate(LOCAL, options.scope, () => ({ generation: 0, entries: new Map() }));
  const generation = ++local.generation;
  const localFor = <T extends Limiter | ConcurrencyLimiter>(id: string, create: () => T): T => {
    let entry = local.entries.get(id);
    if (!entry) local.entries.set(id, (entry = { limiter: create(), generation }));
    entry.generation = generation;
    return entry.limiter as T;
  };
  const failureMode = config.failureMode ?? 'failOpen';
  const compiled = config.limits.map((rule, i): CompiledLimit => {
    const name = rule.name ?? `limit${i}`;
    const id = `${name}:${definitionHash(rule, config.maxKeys)}`;
    const level = rule.scope === 'message' ? 'message' : 'http';
    const base = { name, level, key: compileKey(rule.key ?? [], options.clientAddress), matches: level === 'message' ? messageFilter(rule) : undefined } as const;
    if (rule.concurrency) {
      const limit = rule.concurrency.limit;
      return { ...base, store: 'local', concurrency: localFor(id, () => createConcurrencyLimiter(limit)) };
    }
    const rate = rule.rate && { limit: rule.rate.limit, windowMs: rule.rate.windowMs, burst: rule.rate.burst ?? rule.rate.limit, maxKeys: config.maxKeys };
    const quota = rule.quota && { limit: rule.quota.limit, period: rule.quota.period, timeZone: rule.quota.timeZone, maxKeys: config.maxKeys };
    const inProcess = localFor(id, () => (rate ? createGcraLimiter(rate, options.clock) : createQuotaLimiter(quota!, options.clock)));
    const member = policyMember(name, rule);
    if (!options.redis) return { ...base, store: 'local', limiter: inProcess, policyMember: member };
    const prefix = `${options.redis.prefix}${portableScope(options.scope)}:${id}:`;
    const failure = {
      mode: failureMode,
      fallback: inProcess,
      onFailure: storeFailureReporter(name, level, failureMode, options.logger),
    };
    const limiter = rate
      ? new RedisGcraLimiter(options.redis.shared, prefix, rate, failure)
      : new RedisQuotaLimiter(options.redis.shared, prefix, quota!, failure, options.clock);
    return { ...base, store: 'redis', limiter, policyMember: member };
  });
  for (const [id, entry] of local.entries) if (entry.generation < generation - 1) local.entries.delete(id);
  return compiled;
}

/** A decision Redis could not make: an event each time, a log line at most every 10 s per limit. */
function storeFailureReporter(name: string, level: 'http' | 'message', failureMode: 'failOpen' | 'failClosed', logger: Logger): (err: unknown) => void {
  let lastLog = 0;
  return (err) => {
    const message = (err as Error)?.message ?? String(err);
    publish(rateLimitChannel, (): RateLimitEvent => ({ kind: 'decision', limit: name, level, outcome: 'error', store: 'redis', failureMode, message }));
    const now = Date.now();
    if (now - lastLog < 10_000) return;
    lastLog = now;
    logger.warn({ limit: name, failureMode, reason: message }, failureMode === 'failOpen'
      ? 'rate limit decided in this process: Redis could not decide (failOpen)'
      : 'rate limit refused the request: Redis could not decide (failClosed)');
  };
}
