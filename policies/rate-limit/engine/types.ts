import { stateKey } from '../../../core/state/index.ts';

/** What one limit decided for one key. Times are milliseconds from the decision. */
export interface Decision {
  allowed: boolean;
  /** The limit's capacity as announced in `RateLimit-Policy` (burst, quota or concurrency limit). */
  limit: number;
  /** What is left after this decision. */
  remaining: number;
  /** Until the bucket is full again (rate), the period ends (quota). */
  resetMs: number;
  /** When `allowed` is false: until a retry may pass. */
  retryAfterMs: number;
  /** Set when the shared store failed and the failure mode is `failClosed`: refused without a decision. */
  unavailable?: boolean;
}

/** A counting algorithm over keys: local ones answer at once, shared ones through a promise. */
export interface Limiter {
  take(key: string): Decision | Promise<Decision>;
}

/** The clock limiters read, in milliseconds since the epoch; tests inject their own. */
export type Clock = () => number;

/**
 * The clock rate limits read, when one is set in the gateway's StateStore (scope `GLOBAL_SCOPE`): tests put a
 * fake one there to cross a quota boundary without waiting for it.
 */
export const RATE_LIMIT_CLOCK = stateKey<Clock>('rateLimit.clock');

/**
 * Most distinct keys one local limit counts apart, unless the policy sets `maxKeys`: bounds what a flood of
 * distinct key values (a header the caller chooses) can make the gateway hold.
 */
export const DEFAULT_MAX_KEYS = 10_000;

/** The bucket every key past `maxKeys` shares (a control character: no key part can produce it). */
export const OVERFLOW_KEY = '\u0000overflow';
