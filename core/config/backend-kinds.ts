import type { BackendCapability } from '../pipeline/index.ts';
import type { Schema } from '../schema/index.ts';

/** The kind of a route with no backend entry: its policies answer (`directResponse`). */
export const DIRECT_KIND = 'direct';

/**
 * What validation and resolution need of a backend kind: its key, schema and capabilities. `BackendDefinition`
 * (core/backends) extends it with how the kind is built; the config knows kinds only through the list it is
 * handed, like the policies.
 */
export interface BackendKind<C = unknown> {
  /** The key in a backend entry (`{ host: ... }`, `{ mcp: ... }`); `direct` is the kind of a route with none. */
  readonly kind: string;
  /** How messages name the kind ("MCP"); `kind` when absent. */
  readonly title?: string;
  /** Schema of the value under `kind`. Absent for `direct`, which has no config. */
  readonly schema?: Schema;
  /** A route with a backend of this kind has exactly one, and no backend of another kind (MCP multiplexes its own targets). */
  readonly exclusive?: boolean;
  /**
   * What the kind can do: policies that require a capability (`PolicyDefinition.requires`) may sit on its routes
   * only when it is listed here. See `BackendCapability` for the built-in ones.
   */
  readonly capabilities: readonly BackendCapability[];
  /** The name a backend gets in logs and authorization input. */
  name?(config: C, routeName: string, index: number): string;
}

/**
 * The backend kinds one gateway serves, in order: the composition root's built-in kinds, then the plugged-in
 * ones (`createGateway(config, { backends })`). Validation, resolution and the runtime all read this one list.
 */
export type BackendKinds = readonly BackendKind<any>[];

/** The kind of a raw or resolved backend entry: the key of a kind in `kinds` that it carries. */
export function backendKindOf(kinds: BackendKinds, entry: object): string | undefined {
  return kinds.find((b) => b.schema && b.kind in entry)?.kind;
}

/** The backend kinds a route's raw `backends` list uses, in the order of `kinds` (`direct` when it has none). */
export function routeBackendKinds(kinds: BackendKinds, backends: readonly unknown[] | undefined): string[] {
  if (!backends || backends.length === 0) return [DIRECT_KIND];
  const used = new Set<string>();
  for (const b of backends) {
    const kind = b && typeof b === 'object' ? backendKindOf(kinds, b) : undefined;
    if (kind) used.add(kind);
  }
  return kinds.map((b) => b.kind).filter((k) => used.has(k));
}
