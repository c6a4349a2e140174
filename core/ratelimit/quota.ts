import { createCalendar, type Calendar, type CalendarPeriod } from './calendar.ts';
import type { Clock, Decision, Limiter } from './types.ts';

export interface QuotaParams {
  limit: number;
  period: CalendarPeriod;
  timeZone?: string;
}

/**
 * A fixed quota per calendar period, counted in this process. Every key shares the period, so a rollover clears
 * every count at once.
 */
export function createQuotaLimiter(params: QuotaParams, now: Clock = Date.now, calendar: Calendar = createCalendar(params.period, params.timeZone)): Limiter {
  let periodId = '';
  const used = new Map<string, number>();
  return {
    take(key: string): Decision {
      const t = now();
      const period = calendar.periodAt(t);
      if (period.id !== periodId) {
        periodId = period.id;
        used.clear();
      }
      const count = used.get(key) ?? 0;
      const resetMs = period.end - t;
      if (count >= params.limit) return { allowed: false, limit: params.limit, remaining: 0, resetMs, retryAfterMs: resetMs };
      used.set(key, count + 1);
      return { allowed: true, limit: params.limit, remaining: params.limit - count - 1, resetMs, retryAfterMs: 0 };
    },
  };
}
