/**
 * The Lua scripts of the Redis store: one script per decision, so a decision is atomic (no read-modify-write race
 * between replicas), and every script reads the clock from Redis (`TIME`), never from a replica.
 * Scripts return `{ allowed, remaining, resetMs, retryAfterMs }`; `allowed` is -1, and nothing is counted, when the
 * script runs past its deadline (the last argument, in Redis' clock): its sender gave up on it long ago.
 */

/** GCRA. KEYS[1]: the bucket. ARGV: emission interval (ms), tolerance (ms, interval * burst), deadline (ms). */
export const GCRA_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
if ARGV[3] and now > tonumber(ARGV[3]) then return {-1, 0, 0, 0} end
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local nxt = tat + interval
local allowAt = nxt - tolerance
if now < allowAt then
  return {0, 0, math.ceil(tat - now), math.ceil(allowAt - now)}
end
redis.call('SET', KEYS[1], string.format('%.3f', nxt), 'PX', math.ceil(nxt - now) + 1000)
return {1, math.floor((tolerance - (nxt - now)) / interval + 1e-9), math.ceil(nxt - now), 0}
`;

/**
 * Calendar quota. The gateway names the period its own clock is in (start, end) and the periods either side;
 * Redis' clock picks one, so replicas whose clocks disagree near a boundary still count in the same period.
 * KEYS: previous, current, next period's counter. ARGV: start, end (ms), limit, key lifetime (ms), deadline (ms).
 */
export const QUOTA_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if ARGV[5] and now > tonumber(ARGV[5]) then return {-1, 0, 0, 0} end
local start = tonumber(ARGV[1])
local stop = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local key = KEYS[2]
local reset = stop - now
if now < start then
  key = KEYS[1]
  reset = start - now
elseif now >= stop then
  key = KEYS[3]
  reset = stop - start
end
local used = tonumber(redis.call('GET', key)) or 0
if used >= limit then return {0, 0, reset, reset} end
used = redis.call('INCR', key)
if used == 1 then redis.call('PEXPIRE', key, ARGV[4]) end
return {1, limit - used, reset, 0}
`;
