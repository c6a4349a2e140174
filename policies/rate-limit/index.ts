import { finished, type Readable } from 'node:stream';
import { ErrorCodes, GatewayError } from '../../core/errors.ts';
import type { MessageContext, MessageStep, PolicyDefinition, RequestContext } from '../../core/pipeline/index.ts';
import { RpcErrors, RpcFailure } from '../../core/protocol/jsonrpc.ts';
import { acquireRedis, createClientAddressResolver, RATE_LIMIT_CLOCK, type Decision } from './engine/index.ts';
import { GLOBAL_SCOPE } from '../../core/state/index.ts';
import { policyChannel, rateLimitChannel } from '../../core/telemetry/index.ts';
import type { RateLimitPolicy } from '../../sdk-types/rate-limit.ts';
import { seconds, stateMember } from './headers.ts';
import { compileLimits, type CompiledLimit } from './limits.ts';
import { rateLimitSchema } from './schema.ts';

/** How long building a policy waits for its Redis connection before serving with the failure mode. */
const CONNECT_WAIT_MS = 1000;
const DEFAULT_PREFIX = 'portcullis:rl:';
/** Long enough that a busy event loop is not taken for a Redis failure; short enough not to hold requests up. */
const DEFAULT_REDIS_TIMEOUT_MS = 500;

function published(ctx: RequestContext, l: CompiledLimit, d: Decision, level: 'http' | 'message'): void {
  if (!rateLimitChannel.hasSubscribers) return;
  rateLimitChannel.publish({
    kind: 'decision',
    route: ctx.routeName,
    requestId: ctx.id,
    limit: l.name,
    level,
    outcome: d.unavailable ? 'error' : d.allowed ? 'allowed' : 'limited',
    store: l.store,
  });
}

function refusal(l: CompiledLimit, d: Decision): GatewayError {
  if (d.unavailable) {
    return new GatewayError(ErrorCodes.RATE_LIMIT_UNAVAILABLE, `rate limit "${l.name}" cannot be checked: its Redis store is unreachable and the policy fails closed; retry later`);
  }
  const what = l.concurrency ? 'concurrency limit' : 'rate limit';
  return new GatewayError(ErrorCodes.RATE_LIMITED, `${what} "${l.name}" reached: retry in ${Math.max(1, seconds(d.retryAfterMs))} s`);
}

/** A concurrency limit that is full, as a decision: retry in about a second. */
const BUSY: Decision = Object.freeze({ allowed: false, limit: 0, remaining: 0, resetMs: 1000, retryAfterMs: 1000 });

/**
 * Rate limits, calendar quotas and concurrency limits, per key (identity, client address, header, route, MCP
 * method and tool, A2A method and skill, constant), counted here or in Redis. Limits with `scope: 'request'` run
 * in the HTTP pipeline (429 with `Retry-After` and `RateLimit` headers); those with `scope: 'message'` run on each
 * protocol message (a JSON-RPC error with `data.retryAfterMs`; the session is not touched).
 */
export const rateLimit: PolicyDefinition<RateLimitPolicy> = {
  name: 'rateLimit',
  phase: 'rateLimit',
  schema: rateLimitSchema,
  async create(config, build) {
    const redisConfig = typeof config.store === 'object' ? config.store.redis : undefined;
    const shared = redisConfig && acquireRedis(build.state, redisConfig.url, { timeoutMs: redisConfig.timeoutMs ?? DEFAULT_REDIS_TIMEOUT_MS, logger: build.logger });
    if (shared) await shared.ready(CONNECT_WAIT_MS);
    const clock = build.state.get(RATE_LIMIT_CLOCK, GLOBAL_SCOPE) ?? Date.now;
    const limits = compileLimits(config, {
      state: build.state,
      scope: build.scope,
      clock,
      clientAddress: createClientAddressResolver(config.trustedProxies ?? []),
      redis: shared && { shared, prefix: redisConfig!.prefix ?? DEFAULT_PREFIX },
      logger: build.logger,
    });
    const headers = config.headers !== false;
    const httpRates = limits.filter((l) => l.level === 'http' && l.limiter);
    const httpSlots = limits.filter((l) => l.level === 'http' && l.concurrency);
    const messageRates = limits.filter((l) => l.level === 'message' && l.limiter);
    const messageSlots = limits.filter((l) => l.level === 'message' && l.concurrency);
    const policyHeader = headers ? httpRates.map((l) => l.policyMember).filter(Boolean).join(', ') : '';

    function reject(ctx: RequestContext, l: CompiledLimit, d: Decision): void {
      const err = refusal(l, d);
      ctx.log.debug({ route: ctx.routeName, limit: l.name, code: err.code }, 'request refused by a rate limit');
      const body = JSON.stringify(err.toJSON());
      const out: Record<string, string> = {
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
        'retry-after': String(Math.max(1, seconds(d.retryAfterMs))),
      };
      if (headers && l.policyMember && !d.unavailable) {
        out['ratelimit-policy'] = l.policyMember;
        out.ratelimit = stateMember(l.name, 0, d.resetMs);
      }
      ctx.respond({ status: err.status, headers: out, body, errorCode: err.code });
    }

    async function step(ctx: RequestContext, next: () => Promise<void>): Promise<void> {
      let state: string | undefined;
      for (const l of httpRates) {
        // Local limits answer synchronously: only a shared store's decision is awaited.
        let d = l.limiter!.take(l.key(ctx));
        if (d instanceof Promise) d = await d;
        published(ctx, l, d, 'http');
        if (!d.allowed) return reject(ctx, l, d);
        if (headers && l.policyMember) state = state === undefined ? stateMember(l.name, d.remaining, d.resetMs) : `${state}, ${stateMember(l.name, d.remaining, d.resetMs)}`;
      }
      if (httpSlots.length === 0) {
        await next();
        decorate(ctx, state);
        return;
      }
      const releases: Array<() => void> = [];
      for (const l of httpSlots) {
        const release = l.concurrency!.acquire(l.key(ctx));
        published(ctx, l, release ? { ...BUSY, allowed: true } : BUSY, 'http');
        if (!release) {
          for (const r of releases) r();
          return reject(ctx, l, BUSY);
        }
        releases.push(release);
      }
      // A slot is held until the response has been sent, or the client has left, whichever comes first.
      let held = true;
      const releaseAll = () => {
        if (!held) return;
        held = false;
        ctx.signal.removeEventListener('abort', releaseAll);
        for (const r of releases) r();
      };
      ctx.signal.addEventListener('abort', releaseAll, { once: true });
      try {
        await next();
      } catch (err) {
        releaseAll();
        throw err;
      }
      decorate(ctx, state);
      const body = ctx.response?.body;
      if (body && typeof (body as Readable).pipe === 'function') finished(body as Readable, releaseAll);
      else releaseAll();
    }

    function decorate(ctx: RequestContext, state: string | undefined): void {
      if (state === undefined || !ctx.response) return;
      ctx.response.headers['ratelimit-policy'] = policyHeader;
      ctx.response.headers.ratelimit = state;
    }

    function limited(m: MessageContext, l: CompiledLimit, d: Decision): RpcFailure {
      const err = refusal(l, d);
      if (policyChannel.hasSubscribers) {
        policyChannel.publish({ requestId: m.http.id, route: m.http.routeName, policy: 'rateLimit', level: 'message', outcome: 'deny', reason: err.message, method: m.method, errorCode: err.code });
      }
      return new RpcFailure(RpcErrors.RATE_LIMITED, err.message, { code: err.code, limit: l.name, retryAfterMs: Math.max(1, Math.ceil(d.retryAfterMs)) });
    }

    const message: MessageStep | undefined =
      messageRates.length + messageSlots.length === 0
        ? undefined
        : {
            policy: 'rateLimit',
            phase: 'rateLimit',
            async run(m, next) {
              for (const l of messageRates) {
                if (l.matches && !l.matches(m)) continue;
                let d = l.limiter!.take(l.key(m.http, m));
                if (d instanceof Promise) d = await d;
                published(m.http, l, d, 'message');
                if (!d.allowed) throw limited(m, l, d);
              }
              const releases: Array<() => void> = [];
              try {
                for (const l of messageSlots) {
                  if (l.matches && !l.matches(m)) continue;
                  const release = l.concurrency!.acquire(l.key(m.http, m));
                  published(m.http, l, release ? { ...BUSY, allowed: true } : BUSY, 'message');
                  if (!release) throw limited(m, l, BUSY);
                  releases.push(release);
                }
                await next();
              } finally {
                for (const r of releases) r();
              }
            },
          };

    return {
      step,
      message,
      close: shared && (() => shared.release()),
    };
  },
};
