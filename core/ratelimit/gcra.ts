import type { Clock, Decision, Limiter } from './types.ts';

/** A token bucket as GCRA: one number per key (the theoretical arrival time of the next request). */
export interface RateParams {
  limit: number;
  windowMs: number;
  burst: number;
}

/** Every this many decisions, keys whose bucket is full again are dropped: memory stays bounded by active keys. */
const SWEEP_EVERY = 4096;

/**
 * GCRA (generic cell rate algorithm): each request advances the key's theoretical arrival time (TAT) by one
 * emission interval `T = windowMs / limit`; a request is refused when that would put the TAT more than
 * `burst * T` ahead of now. Equivalent to a token bucket of `burst` tokens refilled at `limit` per window, with
 * one number of state per key.
 */
export function createGcraLimiter(params: RateParams, now: Clock = Date.now): Limiter & { size(): number } {
  const interval = params.windowMs / params.limit;
  const tolerance = interval * params.burst;
  const tats = new Map<string, number>();
  let ops = 0;
  const sweep = (t: number) => {
    for (const [k, tat] of tats) if (tat <= t) tats.delete(k);
  };
  return {
    size: () => tats.size,
    take(key: string): Decision {
      const t = now();
      if (++ops % SWEEP_EVERY === 0) sweep(t);
      const tat = Math.max(tats.get(key) ?? t, t);
      const next = tat + interval;
      const allowAt = next - tolerance;
      if (t < allowAt) {
        return { allowed: false, limit: params.burst, remaining: 0, resetMs: tat - t, retryAfterMs: allowAt - t };
      }
      tats.set(key, next);
      return { allowed: true, limit: params.burst, remaining: remainingOf(tolerance - (next - t), interval), resetMs: next - t, retryAfterMs: 0 };
    },
  };
}

/** Whole requests left in a tolerance, with float noise (600.0000001 ms) not costing one. */
export function remainingOf(room: number, interval: number): number {
  return Math.max(0, Math.floor(room / interval + 1e-9));
}
