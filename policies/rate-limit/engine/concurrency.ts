/** Requests (or messages) in flight per key, in this process. */
export interface ConcurrencyLimiter {
  /** A release function when a slot was free (call it exactly once; later calls do nothing), else undefined. */
  acquire(key: string): (() => void) | undefined;
  inFlight(key: string): number;
}

export function createConcurrencyLimiter(limit: number): ConcurrencyLimiter {
  const counts = new Map<string, number>();
  return {
    inFlight: (key) => counts.get(key) ?? 0,
    acquire(key) {
      const n = counts.get(key) ?? 0;
      if (n >= limit) return undefined;
      counts.set(key, n + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const left = (counts.get(key) ?? 1) - 1;
        if (left <= 0) counts.delete(key);
        else counts.set(key, left);
      };
    },
  };
}
