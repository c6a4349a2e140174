import { ErrorCodes, GatewayError } from '../errors.ts';
import type { BackendDefinition } from './types.ts';

/**
 * The backend kinds of one gateway, checked and frozen: the built-in kinds the composition root lists
 * (`builtinBackends`, core/gateway/backends.ts), then the plugged-in ones (`createGateway(config, { backends })`).
 * The registry knows no kind itself. A kind whose key is taken is refused.
 *
 * @example
 * const kinds = backendKinds([...builtinBackends, echoBackend]);
 */
export function backendKinds(definitions: readonly BackendDefinition<any>[]): readonly BackendDefinition<any>[] {
  const taken = new Set<string>();
  for (const definition of definitions) {
    if (taken.has(definition.kind)) {
      throw new GatewayError(ErrorCodes.EXTENSION_CONFLICT, `backend kind "${definition.kind}" is already registered: pick another key for the plugged-in kind`);
    }
    taken.add(definition.kind);
  }
  return Object.freeze([...definitions]);
}

/** The definition of `kind` among a gateway's backend kinds. */
export function backendDefinition(kinds: readonly BackendDefinition<any>[], kind: string): BackendDefinition<unknown> | undefined {
  return kinds.find((b) => b.kind === kind);
}
