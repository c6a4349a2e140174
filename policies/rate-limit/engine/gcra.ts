import { DEFAULT_MAX_KEYS, OVERFLOW_KEY, type Clock, type Decision, type Limiter } from './types.ts';

/** A token bucket as GCRA: one number per key (the theoretical arrival time of the next request). */
export interface RateParams {
  limit: number;
  windowMs: number;
  burst: number;
  /** Most distinct keys counted apart; past it, new keys share one bucket (`OVERFLOW_KEY`). @default DEFAULT_MAX_KEYS */
  maxKeys?: number;
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
  const maxKeys = params.maxKeys ?? DEFAULT_MAX_KEYS;
  let ops = 0;
  let lastSweep = 0;
  const sweep = (t: number) => {
    lastSweep = t;
    for (const [k, tat] of tats) if (tat <= t) tats.delete(k);
  };
  return {
    size: () => tats.size,
    take(key: string): Decision {
      const t = now();
      if (++ops % SWEEP_EVERY === 0) sweep(t);
      if (tats.size >= maxKeys && !tats.has(key)) {
        // Full: a sweep (at most once a second, so a flood cannot make every decision pay for one) frees the
        // keys whose bucket is full again; if none is, the new key is counted with every other newcomer.
        if (t - lastSweep >= 1000) sweep(t);
        if (tats.size >= maxKeys) key = OVERFLOW_KEY;
      }
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
