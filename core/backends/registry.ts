import { ErrorCodes, GatewayError } from '../errors.ts';
import { a2aBackendDefinition } from './a2a/backend.ts';
import { directBackendDefinition } from './direct/index.ts';
import { hostBackendDefinition } from './http/backend.ts';
import { mcpBackendDefinition } from './mcp/backend.ts';
import type { BackendDefinition } from './types.ts';

const kinds: BackendDefinition<any>[] = [hostBackendDefinition, mcpBackendDefinition, a2aBackendDefinition, directBackendDefinition];

/**
 * Every backend kind the gateway serves: the built-in ones, then those registered with `registerBackendKind`
 * (before `direct`, the kind of a route with none). The schema, resolution, validation and runtime all read it.
 */
export const BACKENDS: readonly BackendDefinition<any>[] = kinds;

/** The kind of a route with no backend entry. */
export const DIRECT_KIND = directBackendDefinition.kind;

/**
 * Adds a backend kind: one folder with its definition, and this one call (from the composition root, or from
 * `createGateway({ backends })`). Returns how to remove it again. A kind whose key is taken is refused.
 *
 * @example
 * const unregister = registerBackendKind(echoBackend);
 */
export function registerBackendKind(definition: BackendDefinition<any>): () => void {
  if (kinds.some((k) => k.kind === definition.kind)) {
    throw new GatewayError(ErrorCodes.EXTENSION_CONFLICT, `backend kind "${definition.kind}" is already registered: pick another key for the plugged-in kind`);
  }
  kinds.splice(kinds.indexOf(directBackendDefinition), 0, definition);
  return () => {
    const at = kinds.indexOf(definition);
    if (at >= 0) kinds.splice(at, 1);
  };
}

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
