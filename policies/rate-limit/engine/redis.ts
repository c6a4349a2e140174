import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { lazy } from '../../../core/lazy.ts';
import { GLOBAL_SCOPE, stateKey, type StateStore } from '../../../core/state/index.ts';
import { publish, rateLimitChannel, type RateLimitEvent } from '../../../core/telemetry/index.ts';
import { createCalendar, type Calendar, type PeriodWindow } from './calendar.ts';
import type { RateParams } from './gcra.ts';
import type { QuotaParams } from './quota.ts';
import { GCRA_LUA, QUOTA_LUA } from './scripts.ts';
import type { Clock, Decision, Limiter } from './types.ts';

/** ioredis weighs ~15 MiB loaded: only a config with a Redis store loads it. */
const ioredis = lazy<typeof import('ioredis')>('ioredis');

/**
 * The Redis store. One client per URL for the whole gateway, kept in the StateStore so that it outlives reloads
 * (counters and connection alike) and is closed when the last runtime using it is.
 */

type ScriptReply = [number, number, number, number];

interface ScriptedRedis extends Redis {
  pclGcra(key: string, interval: string, tolerance: string, deadline: number): Promise<ScriptReply>;
  pclQuota(prev: string, cur: string, next: string, start: number, end: number, limit: number, ttlMs: number, deadline: number): Promise<ScriptReply>;
}

/** A shared connection and whether it is usable now. */
export interface SharedRedis {
  readonly client: ScriptedRedis;
  /** True while connected and answering; decisions are not even tried otherwise (the failure mode decides at once). */
  readonly up: boolean;
  /**
   * The time in Redis' clock (ms) past which a decision sent now must not count: a command that waited in a
   * stalled server's socket (SIGSTOP, a long pause) and runs after its sender gave up is then a no-op, so a
   * resumed server does not charge again what the failure mode already decided.
   */
  deadline(): number;
  /** A command timed out: Redis is connected but not answering; decide without it until a ping answers. */
  stalled(): void;
  /** Resolves once connected, or after `timeoutMs`, whichever comes first. */
  ready(timeoutMs: number): Promise<void>;
  /** One fewer user: the last one closes the connection. */
  release(): Promise<void>;
}

interface Entry {
  redis: SharedRedis;
  refs: number;
}

const CLIENTS = stateKey<Map<string, Entry>>('rateLimit.redisClients');

/** `redis://user:secret@host:6379/0` as `host:6379`, for logs. */
export function redisLabel(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return 'redis';
  }
}

/** Why a Redis URL cannot be used, or undefined when it can (for config validation). */
export function redisUrlProblem(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    // Never echoed: a malformed URL may still hold a password.
    return `expected a URL like "redis://127.0.0.1:6379", got a value that is not a URL (${url.length} characters, not shown: it may hold a password)`;
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') return `expected a redis:// or rediss:// URL, got ${JSON.stringify(u.protocol)}`;
  if (u.hostname === '') return `the URL names no host: ${JSON.stringify(redisLabel(url))}`;
  if (u.pathname !== '' && u.pathname !== '/' && !/^\/\d+$/.test(u.pathname)) return `the path of a Redis URL is a database number, got ${JSON.stringify(u.pathname)}`;
  return undefined;
}

/** The gateway's client for `url`, created on first use; every caller must `release()` it once. */
export function acquireRedis(state: StateStore, url: string, options: { timeoutMs: number; logger: Logger }): SharedRedis {
  const clients = state.getOrCreate(CLIENTS, GLOBAL_SCOPE, () => new Map<string, Entry>());
  // One connection per URL and command timeout (a policy's timeout is its own, whoever connected first).
  const id = `${url}#${options.timeoutMs}`;
  let entry = clients.get(id);
  if (!entry) {
    const created: Entry = { refs: 0, redis: undefined as unknown as SharedRedis };
    created.redis = connect(url, options, () => {
      if (--created.refs > 0) return false;
      clients.delete(id);
      return true;
    });
    clients.set(id, (entry = created));
  }
  entry.refs++;
  return entry.redis;
}

/** `lastUser()` says whether the releasing user was the last one, so the connection is to be closed. */
function connect(url: string, options: { timeoutMs: number; logger: Logger }, lastUser: () => boolean): SharedRedis {
  const label = redisLabel(url);
  const client = new (ioredis().Redis)(url, {
    // A decision never waits for a connection: while Redis is away, the failure mode answers at once.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: options.timeoutMs,
    connectTimeout: 2000,
    // On disconnect ioredis waits this long for the socket to close, with a timer it never clears when the socket had
    // already closed (Redis away): 2 s by default, keeping a closing gateway's process up that long.
    disconnectTimeout: 100,
    // Reconnect for ever, at most a second apart: limiting resumes on its own when Redis is back.
    retryStrategy: (times) => Math.min(times * 100, 1000),
    lazyConnect: false,
  }) as ScriptedRedis;
  client.defineCommand('pclGcra', { numberOfKeys: 1, lua: GCRA_LUA });
  client.defineCommand('pclQuota', { numberOfKeys: 3, lua: QUOTA_LUA });
  let up = false;
  let down = false;
  let closing = false;
  let probing = false;
  /** Redis' clock minus this process' (ms), measured when the connection becomes usable. */
  let offsetMs = 0;
  const measureOffset = async () => {
    const before = Date.now();
    const [sec, usec] = await client.time();
    const after = Date.now();
    offsetMs = Number(sec) * 1000 + Number(usec) / 1000 - (before + after) / 2;
  };
  const markUp = () => {
    up = true;
    for (const w of waiting) w();
    waiting.clear();
    if (!down) return;
    down = false;
    options.logger.info({ store: label }, 'rate-limit store (Redis) is back: shared limits apply again');
    publish(rateLimitChannel, (): RateLimitEvent => ({ kind: 'storeUp', store: 'redis' }));
  };
  const waiting = new Set<() => void>();
  const markDown = (reason: string) => {
    up = false;
    if (down || closing) return;
    down = true;
    for (const w of waiting) w();
    options.logger.warn({ store: label, reason }, 'rate-limit store (Redis) is unreachable: the failure mode decides until it is back');
    publish(rateLimitChannel, (): RateLimitEvent => ({ kind: 'storeDown', store: 'redis', message: reason }));
  };
  client.on('ready', () => {
    // A server that connects but fails TIME is down until a probe gets an answer: nothing else would retry it (the
    // socket is healthy, so ioredis does not reconnect, and no command is sent while down).
    measureOffset().then(markUp, (err: Error) => {
      markDown(err.message);
      void probe();
    });
  });
  /** Pings a stalled server until it answers (each ping bounded by the command timeout), then uses it again. */
  const probe = async () => {
    if (probing) return;
    probing = true;
    try {
      while (!closing && !up) {
        try {
          await client.ping();
          await measureOffset();
          if (!closing) markUp();
        } catch {
          await new Promise((r) => setTimeout(r, 250).unref());
        }
        if (client.status !== 'ready') break; // reconnection takes over ('ready' marks it up)
      }
    } finally {
      probing = false;
    }
  };
  client.on('error', (err: Error) => markDown(err.message));
  client.on('close', () => markDown('connection closed'));
  return {
    client,
    get up() {
      return up;
    },
    deadline: () => Date.now() + offsetMs + options.timeoutMs,
    stalled() {
      if (!up || closing) return;
      markDown(`commands time out after ${options.timeoutMs} ms: Redis is connected but not answering`);
      void probe();
    },
    ready(timeoutMs) {
      // Known to be down (a reload while Redis is away): do not hold the build up, the failure mode answers.
      if (up || down) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const timer = setTimeout(done, timeoutMs);
        function done() {
          clearTimeout(timer);
          waiting.delete(done);
          resolve();
        }
        waiting.add(done);
      });
    },
    async release() {
      if (!lastUser()) return;
      closing = true;
      for (const w of waiting) w();
      client.disconnect();
    },
  };
}

/** What a Redis-backed limit does when Redis fails: decide locally, or refuse. */
export interface FailurePolicy {
  mode: 'failOpen' | 'failClosed';
  /** The same limit counted in this process (`failOpen`). */
  fallback: Limiter;
  /** Called on each decision Redis could not make, for the event and the log. */
  onFailure(err: unknown): void;
}

const UNAVAILABLE: Decision = Object.freeze({ allowed: false, unavailable: true, limit: 0, remaining: 0, resetMs: 1000, retryAfterMs: 1000 });

abstract class RedisLimiter implements Limiter {
  protected readonly redis: SharedRedis;
  private readonly failure: FailurePolicy;
  constructor(redis: SharedRedis, failure: FailurePolicy) {
    this.redis = redis;
    this.failure = failure;
  }
  protected abstract run(key: string, deadline: number): Promise<ScriptReply>;
  protected abstract capacity(): number;

  take(key: string): Decision | Promise<Decision> {
    if (!this.redis.up) return this.failed(key, new Error('not connected'));
    return this.run(key, this.redis.deadline()).then(
      ([allowed, remaining, resetMs, retryAfterMs]) => {
        // -1: Redis ran the command after its deadline (it was stalled); it charged nothing.
        if (allowed === -1) return this.failed(key, new Error('Redis answered after the command timeout'));
        return { allowed: allowed === 1, limit: this.capacity(), remaining, resetMs, retryAfterMs };
      },
      (err) => {
        if (/timed out/i.test((err as Error)?.message ?? '')) this.redis.stalled();
        return this.failed(key, err);
      },
    );
  }

  private failed(key: string, err: unknown): Decision | Promise<Decision> {
    this.failure.onFailure(err);
    return this.failure.mode === 'failOpen' ? this.failure.fallback.take(key) : UNAVAILABLE;
  }
}

/** GCRA in Redis: the TAT of a key is one string that expires when the bucket is full again. */
export class RedisGcraLimiter extends RedisLimiter {
  private readonly interval: string;
  private readonly tolerance: string;
  private readonly params: RateParams;
  private readonly prefix: string;
  constructor(redis: SharedRedis, prefix: string, params: RateParams, failure: FailurePolicy) {
    super(redis, failure);
    this.params = params;
    this.prefix = prefix;
    const interval = params.windowMs / params.limit;
    this.interval = String(interval);
    this.tolerance = String(interval * params.burst);
  }
  protected run(key: string, deadline: number) {
    return this.redis.client.pclGcra(this.prefix + key, this.interval, this.tolerance, Math.ceil(deadline));
  }
  protected capacity() {
    return this.params.burst;
  }
}

/** A calendar quota in Redis: one counter per key and period, expiring after the period. */
export class RedisQuotaLimiter extends RedisLimiter {
  private readonly calendar: Calendar;
  private readonly params: QuotaParams;
  private readonly prefix: string;
  private readonly now: Clock;
  constructor(redis: SharedRedis, prefix: string, params: QuotaParams, failure: FailurePolicy, now: Clock = Date.now) {
    super(redis, failure);
    this.params = params;
    this.prefix = prefix;
    this.now = now;
    this.calendar = createCalendar(params.period, params.timeZone);
  }
  private periods?: { previous: string; current: PeriodWindow; next: string };
  protected run(key: string, deadline: number) {
    const t = this.now();
    let p = this.periods;
    if (!p || t < p.current.start || t >= p.current.end) {
      const current = { ...this.calendar.periodAt(t) };
      p = this.periods = { previous: this.calendar.periodAt(current.start - 1).id, current, next: this.calendar.periodAt(current.end).id };
    }
    const base = `${this.prefix}{${key}}:`;
    const { current } = p;
    const ttlMs = (current.end - current.start) * 2 + 60_000;
    return this.redis.client.pclQuota(base + p.previous, base + current.id, base + p.next, current.start, current.end, this.params.limit, ttlMs, Math.ceil(deadline));
  }
  protected capacity() {
    return this.params.limit;
  }
}
