/** A bounded list that keeps the newest `capacity` items; `push` returns the item it dropped, if any. */
export class Ring<T> {
  private readonly items: T[] = [];
  readonly capacity: number;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  push(item: T): T | undefined {
    this.items.push(item);
    return this.items.length > this.capacity ? this.items.shift() : undefined;
  }

  /** Oldest first. */
  all(): readonly T[] {
    return this.items;
  }

  get size(): number {
    return this.items.length;
  }
}
