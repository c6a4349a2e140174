import { KNOWN_METHODS } from '../protocol/a2a-methods.ts';
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

  /** `allowed`: a closed set of values (HTTP methods, MCP methods); anything else folds at once. */
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

/** Every method of the MCP specification (2025-06-18), client and server side. */
export const MCP_METHODS = [
  'initialize',
  'ping',
  'tools/list',
  'tools/call',
  'prompts/list',
  'prompts/get',
  'resources/list',
  'resources/templates/list',
  'resources/read',
  'resources/subscribe',
  'resources/unsubscribe',
  'completion/complete',
  'logging/setLevel',
  'sampling/createMessage',
  'elicitation/create',
  'roots/list',
];

/** Methods of the A2A protocol (JSON-RPC binding, v0.3 and v1.0 names): the A2A backend's own list. */
export const A2A_METHODS: readonly string[] = [...KNOWN_METHODS];

export function statusClass(status: number | undefined): string {
  if (!status) return 'none';
  return `${Math.floor(status / 100)}xx`;
}
