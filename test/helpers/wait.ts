/**
 * Waits for something that announces itself no other way (a log line read back, a counter, a port served, a process
 * gone): checks `cond` every `intervalMs` (10 ms) until it returns something truthy, and returns that; throws naming
 * `what` after `timeoutMs` (10 s). Use it instead of a fixed sleep; prefer an event (a diagnostics channel, `once`)
 * where the product publishes one.
 */
export async function until<T>(cond: () => T | Promise<T>, opts: { timeoutMs?: number; intervalMs?: number; what?: string } = {}): Promise<NonNullable<T>> {
  const { timeoutMs = 10_000, intervalMs = 10, what = 'the condition' } = opts;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await cond();
    if (value) return value as NonNullable<T>;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
