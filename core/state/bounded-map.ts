/**
 * A map keyed by what clients send (header values, identities, tokens), with a bound on its entries: past
 * `maxEntries`, the least recently used entry is evicted (Map keeps insertion order; a hit re-inserts), so no flood
 * of distinct keys can grow the gateway. Every cache or map keyed by client input is one of these.
 */
export class BoundedMap<K, V> {
  private readonly map = new Map<K, V>();
  readonly maxEntries: number;
  private readonly onEvict?: (key: K, value: V) => void;
  /** Entries evicted to keep the bound (for metrics and tests). */
  evictions = 0;

  constructor(maxEntries: number, onEvict?: (key: K, value: V) => void) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError(`maxEntries must be a positive integer, got ${maxEntries}`);
    this.maxEntries = maxEntries;
    this.onEvict = onEvict;
  }

  get size(): number {
    return this.map.size;
  }

  /** The value, marked as most recently used. */
  get(key: K): V | undefined {
    const v = this.map.get(key);
    if (v === undefined) return undefined;
    this.map.delete(key);
    this.map.set(key, v);
    return v;
  }

  /** The value, without changing its recency. */
  peek(key: K): V | undefined {
    return this.map.get(key);
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  set(key: K, value: V): this {
    if (this.map.has(key)) this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.maxEntries) {
      const oldest = this.map.keys().next().value as K;
      const v = this.map.get(oldest) as V;
      this.map.delete(oldest);
      this.evictions++;
      this.onEvict?.(oldest, v);
    }
    return this;
  }

  delete(key: K): boolean {
    return this.map.delete(key);
  }

  clear(): void {
    this.map.clear();
  }

  /** Removes every entry `stale` says is dead (expired windows, ended sessions), oldest first. */
  prune(stale: (value: V, key: K) => boolean): number {
    let n = 0;
    for (const [k, v] of this.map) {
      if (stale(v, k)) {
        this.map.delete(k);
        n++;
      }
    }
    return n;
  }

  entries(): IterableIterator<[K, V]> {
    return this.map.entries();
  }

  values(): IterableIterator<V> {
    return this.map.values();
  }

  keys(): IterableIterator<K> {
    return this.map.keys();
  }

  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.map.entries();
  }
}
