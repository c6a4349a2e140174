/**
 * Bounded label values. A metric label may only take values the config or an upstream catalog gave it; every value
 * goes through a `LabelFold`, which keeps the first `max` distinct values it sees and folds the rest into `other`,
 * so a misbehaving client or upstream can never grow the series count without bound.
 */
export const OTHER = 'other';

export class LabelFold {
  private readonly seen = new Set<string>();
  private readonly max: number;
  private readonly allowed: ReadonlySet<string> | undefined;

  /** `allowed`: a closed set of values (HTTP methods, a protocol's methods); anything else folds at once. */
  constructor(max: number, allowed?: Iterable<string>) {
    this.max = max;
    this.allowed = allowed && new Set(allowed);
  }

  value(v: string | undefined | null): string {
    if (v === undefined || v === null || v === '') return '';
    if (this.allowed) return this.allowed.has(v) ? v : OTHER;
    if (this.seen.has(v)) return v;
    if (this.seen.size >= this.max) return OTHER;
    this.seen.add(v);
    return v;
  }
}

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'CONNECT', 'TRACE'];

/** The class names of statuses 100–599, made once rather than a new string per request. */
const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'];

export function statusClass(status: number | undefined): string {
  if (!status) return 'none';
  const i = Math.floor(status / 100) - 1;
  return STATUS_CLASSES[i] ?? `${Math.floor(status / 100)}xx`;
}
