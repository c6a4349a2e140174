export { createCalendar, isTimeZone, type Calendar, type CalendarPeriod, type PeriodWindow } from './calendar.ts';
export { createClientAddressResolver, normalizeAddress, proxyEntryProblem } from './client-address.ts';
export { createConcurrencyLimiter, type ConcurrencyLimiter } from './concurrency.ts';
export { createGcraLimiter, type RateParams } from './gcra.ts';
export { createQuotaLimiter, type QuotaParams } from './quota.ts';
export { acquireRedis, RedisGcraLimiter, RedisQuotaLimiter, redisLabel, redisUrlProblem, type FailurePolicy, type SharedRedis } from './redis.ts';
export { DEFAULT_MAX_KEYS, OVERFLOW_KEY, RATE_LIMIT_CLOCK, type Clock, type Decision, type Limiter } from './types.ts';
