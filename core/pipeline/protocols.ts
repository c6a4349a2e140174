import { ErrorCodes, GatewayError } from '../errors.ts';
import { registerProtocolTelemetry, type ProtocolTelemetry } from '../telemetry/index.ts';
import { stepFromA2aHooks, stepFromHooks, type MessageStep } from './message.ts';
import type { Phase, PolicyInstance } from './types.ts';

/**
 * A message protocol a backend kind may speak (`BackendDefinition.protocol`): how a policy's hooks for it become a
 * step of the route's message pipeline. The runtime looks the protocol up by name; it never branches on it.
 *
 * @example
 * registerMessageProtocol({ name: 'toy', stepOf: (policy, phase, instance) => instance.hooks?.toy as MessageStep | undefined });
 */
export interface MessageProtocol {
  readonly name: string;
  /** The step a built policy contributes to this protocol's messages, from its hooks; undefined when it has none. */
  stepOf(policy: string, phase: Phase, instance: PolicyInstance): MessageStep | undefined;
  /**
   * What traces, metrics and the access log add for its messages (`registerProtocolTelemetry`, registered and
   * removed with the protocol); without it they get the generic parts. The built-in protocols' descriptors are
   * registered by the composition root, beside the kinds that speak them.
   */
  readonly telemetry?: ProtocolTelemetry;
}

const protocols = new Map<string, MessageProtocol>([
  ['mcp', { name: 'mcp', stepOf: (policy, phase, instance) => instance.mcp && stepFromHooks(policy, phase, instance.mcp) }],
  ['a2a', { name: 'a2a', stepOf: (policy, phase, instance) => instance.a2a && stepFromA2aHooks(policy, phase, instance.a2a) }],
]);

export function messageProtocol(name: string): MessageProtocol | undefined {
  return protocols.get(name);
}

/**
 * Adds a message protocol, with its telemetry descriptor when it has one (one call, beside the backend kind that
 * speaks it); returns how to remove both.
 */
export function registerMessageProtocol(protocol: MessageProtocol): () => void {
  if (protocols.has(protocol.name)) throw new GatewayError(ErrorCodes.EXTENSION_CONFLICT, `message protocol "${protocol.name}" is already registered`);
  if (protocol.telemetry && protocol.telemetry.name !== protocol.name) {
    throw new GatewayError(ErrorCodes.EXTENSION_CONFLICT, `the telemetry of message protocol "${protocol.name}" is named "${protocol.telemetry.name}": name both alike`);
  }
  const unregisterTelemetry = protocol.telemetry ? registerProtocolTelemetry(protocol.telemetry) : undefined;
  protocols.set(protocol.name, protocol);
  return () => {
    if (protocols.get(protocol.name) !== protocol) return;
    protocols.delete(protocol.name);
    unregisterTelemetry?.();
  };
}
