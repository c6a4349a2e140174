import { createCalendar, type Calendar, type CalendarPeriod } from './calendar.ts';
import { DEFAULT_MAX_KEYS, OVERFLOW_KEY, type Clock, type Decision, type Limiter } from './types.ts';

export interface QuotaParams {
  limit: number;
  period: CalendarPeriod;
  timeZone?: string;
  /** Most distinct keys counted apart in a period; past it, new keys share one count (`OVERFLOW_KEY`). @default DEFAULT_MAX_KEYS */
  maxKeys?: number;
}

/**
 * A fixed quota per calendar period, counted in this process. Every key shares the period, so a rollover clears
 * every count at once.
 */
export function createQuotaLimiter(params: QuotaParams, now: Clock = Date.now, calendar: Calendar = createCalendar(params.period, params.timeZone)): Limiter {
  let periodId = '';
  const used = new Map<string, number>();
  const maxKeys = params.maxKeys ?? DEFAULT_MAX_KEYS;
  return {
    take(key: string): Decision {
      const t = now();
      const period = calendar.periodAt(t);
      if (period.id !== periodId) {
        periodId = period.id;
        used.clear();
      }
      // Counts cannot be dropped within a period (that would give their caller a fresh quota): once full, every
      // new key shares one count, so a flood of distinct keys is limited as one caller.
      if (used.size >= maxKeys && !used.has(key)) key = OVERFLOW_KEY;
      const count = used.get(key) ?? 0;
      const resetMs = period.end - t;
      if (count >= params.limit) return { allowed: false, limit: params.limit, remaining: 0, resetMs, retryAfterMs: resetMs };
      used.set(key, count + 1);
      return { allowed: true, limit: params.limit, remaining: params.limit - count - 1, resetMs, retryAfterMs: 0 };
    },
  };
}
