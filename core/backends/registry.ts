import { a2aBackendDefinition } from './a2a/backend.ts';
import { directBackendDefinition } from './direct/index.ts';
import { hostBackendDefinition } from './http/backend.ts';
import { mcpBackendDefinition } from './mcp/backend.ts';
import type { BackendDefinition } from './types.ts';

/**
 * Every backend kind the gateway serves. Adding one is a folder in `core/backends/` and a line here: the schema,
 * resolution, validation and runtime all read this list.
 */
export const BACKENDS: readonly BackendDefinition<any>[] = [hostBackendDefinition, mcpBackendDefinition, a2aBackendDefinition, directBackendDefinition];

/** The kind of a route with no backend entry. */
export const DIRECT_KIND = directBackendDefinition.kind;

export function backendDefinition(kind: string): BackendDefinition<unknown> | undefined {
  return BACKENDS.find((b) => b.kind === kind);
}

/** The kind of a raw or resolved backend entry: the registered key it carries. */
export function backendKindOf(entry: object): string | undefined {
  return BACKENDS.find((b) => b.schema && b.kind in entry)?.kind;
}

/** The backend kinds a route's raw `backends` list uses, in registry order (`direct` when it has none). */
export function routeBackendKinds(backends: readonly unknown[] | undefined): string[] {
  if (!backends || backends.length === 0) return [DIRECT_KIND];
  const kinds = new Set<string>();
  for (const b of backends) {
    const kind = b && typeof b === 'object' ? backendKindOf(b) : undefined;
    if (kind) kinds.add(kind);
  }
  return BACKENDS.map((b) => b.kind).filter((k) => kinds.has(k));
}
