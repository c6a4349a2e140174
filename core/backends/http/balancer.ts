export interface HostTarget {
  name: string;
  /** `host:port`. */
  host: string;
  weight: number;
}

export interface Balancer {
  /** A healthy target by weight, preferring one other than `avoid`; undefined when all are ejected. */
  pick(avoid?: HostTarget): HostTarget | undefined;
  failed(target: HostTarget): void;
  succeeded(target: HostTarget): void;
}

/** Weighted random choice with passive ejection: a target whose connection failed sits out `ejectionMs`. */
export function createBalancer(targets: readonly HostTarget[], ejectionMs: number): Balancer {
  const live = targets.filter((t) => t.weight > 0);
  const ejectedUntil = new Map<HostTarget, number>();
  const single = live.length === 1 ? live[0] : undefined;

  function healthy(now: number): HostTarget[] {
    if (ejectedUntil.size === 0) return live;
    return live.filter((t) => (ejectedUntil.get(t) ?? 0) <= now);
  }

  return {
    pick(avoid) {
      if (single) return ejectedUntil.size === 0 || (ejectedUntil.get(single) ?? 0) <= Date.now() ? single : undefined;
      let pool = healthy(Date.now());
      if (avoid && pool.length > 1) pool = pool.filter((t) => t !== avoid);
      if (pool.length === 0) return undefined;
      if (pool.length === 1) return pool[0];
      let total = 0;
      for (const t of pool) total += t.weight;
      let r = Math.random() * total;
      for (const t of pool) {
        r -= t.weight;
        if (r < 0) return t;
      }
      return pool[pool.length - 1];
    },
    failed(target) {
      if (ejectionMs > 0) ejectedUntil.set(target, Date.now() + ejectionMs);
    },
    succeeded(target) {
      if (ejectedUntil.size > 0) ejectedUntil.delete(target);
    },
  };
}
