/**
 * The IETF RateLimit header fields (draft-ietf-httpapi-ratelimit-headers): `RateLimit-Policy` announces each
 * limit (`"name";q=<quota>;w=<window seconds>`), `RateLimit` its state after this request (`"name";r=<remaining>;
 * t=<seconds until reset>`). Both are Structured Field lists, one member per limit.
 */

import type { RateLimitRule } from '../../sdk-types/rate-limit.ts';

/** Nominal period lengths for `w` (a month is announced as 30 days; `t` carries the exact reset). */
const PERIOD_SECONDS = { hour: 3600, day: 86_400, month: 2_592_000 } as const;

/** The `RateLimit-Policy` member of a limit, or undefined for a concurrency limit (not a quota over time). */
export function policyMember(name: string, rule: RateLimitRule): string | undefined {
  if (rule.rate) return `"${name}";q=${rule.rate.limit};w=${Math.max(1, Math.ceil(rule.rate.windowMs / 1000))}`;
  if (rule.quota) return `"${name}";q=${rule.quota.limit};w=${PERIOD_SECONDS[rule.quota.period]}`;
  return undefined;
}

export function stateMember(name: string, remaining: number, resetMs: number): string {
  return `"${name}";r=${remaining};t=${seconds(resetMs)}`;
}

/** Whole seconds, rounded up: a client that waits this long is not refused again for the same reason. */
export function seconds(ms: number): number {
  return Math.max(0, Math.ceil(ms / 1000));
}
