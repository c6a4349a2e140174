import type { Attributes } from '@opentelemetry/api';
import { ErrorCodes, GatewayError } from '../errors.ts';
import type { MessageEvent } from './events.ts';
import type { LabelFold } from './labels.ts';

/**
 * What the telemetry subscribers (traces, metrics, the access log) add for the messages of one message protocol,
 * looked up by `MessageEvent.protocol`: the subscribers never branch on a protocol's name. A protocol with no
 * descriptor still gets the generic parts (`GENERIC_PROTOCOL_TELEMETRY`): its span carries `rpc.method`, its
 * messages are counted in `portcullis_messages_total{protocol,route,method,outcome}`, its access-log line names
 * the message's tool. The descriptor lives in the folder of the backend kind that speaks the protocol; the built-in
 * ones are registered by the composition root (core/gateway/backends.ts), a plugged-in one with its protocol
 * (`registerMessageProtocol({ name, stepOf, telemetry })`).
 *
 * @example
 * registerProtocolTelemetry({ name: 'toy', startSpan: (e, a) => void (a['toy.method'] = e.method) });
 */
export interface ProtocolTelemetry {
  readonly name: string;
  /**
   * Where `MessageEvent.sessionId` goes: the message span's attribute, and the request header that carries the same
   * id (then the request span carries the attribute too, and Langfuse's `session.id`). Without it the id is
   * `portcullis.session_id`.
   */
  readonly session?: { readonly attribute: string; readonly header?: string };
  /** Adds the protocol's attributes to a message span at its start; without it the span gets `rpc.method`. */
  startSpan?(e: MessageEvent, attributes: Attributes): void;
  /** Adds the protocol's attributes to a message span at its end (the message as forwarded, its outcome). */
  endSpan?(e: MessageEvent, attributes: Attributes): void;
  /** Langfuse: which messages are tool observations, and the tag a message's name gets (`tool:`, `skill:`). */
  readonly langfuse?: { isTool(e: MessageEvent): boolean; readonly tag: string };
  /** The protocol's own message series; without them its messages go to `portcullis_messages_total`. */
  readonly metrics?: ProtocolMetrics;
  /** The access-log fields of a request whose (last) message was this protocol's; without it `gen_ai.tool.name`. */
  accessLogFields?(m: MessageEvent): Record<string, unknown>;
  /** The access log's CEL variables for such a request (their names must be in `ACCESS_LOG_VARIABLES`). */
  accessLogVariables?(m: MessageEvent): Record<string, unknown>;
}

/** A protocol's message series: a counter, and a duration histogram when it has one, with the same labels. */
export interface ProtocolMetrics {
  readonly counter: { readonly name: string; readonly help: string };
  readonly histogram?: { readonly name: string; readonly help: string };
  readonly labelNames: readonly string[];
  /** The closed set of values of the `method` label (anything else is `other`). */
  readonly methods: Iterable<string>;
  /** The label values of one message, in `labelNames` order, from the folded values the subscriber hands in. */
  values(e: MessageEvent, folded: MessageLabelValues): string[];
}

/** What the metrics subscriber folds for every message, and the folds a protocol's other labels go through. */
export interface MessageLabelValues {
  readonly route: string;
  /** Through the protocol's closed set of methods. */
  readonly method: string;
  /** `ok`, `error` or `denied`. */
  readonly outcome: string;
  readonly fold: { readonly target: LabelFold; readonly tool: LabelFold };
}

/** The parts every protocol gets, and what a protocol without a descriptor gets. */
export const GENERIC_PROTOCOL_TELEMETRY: ProtocolTelemetry = Object.freeze({
  name: '',
  session: { attribute: 'portcullis.session_id' },
  startSpan(e: MessageEvent, attributes: Attributes) {
    attributes['rpc.method'] = e.method;
  },
  accessLogFields: (m: MessageEvent) => ({ 'gen_ai.tool.name': m.tool }),
});

const descriptors = new Map<string, ProtocolTelemetry>();
let headers: ReadonlyArray<{ readonly header: string; readonly attribute: string }> = [];

/** The descriptor of a protocol, or undefined when it has none (then the subscribers use the generic parts). */
export function protocolTelemetry(name: string): ProtocolTelemetry | undefined {
  return descriptors.get(name);
}

/** Every registered descriptor, in registration order (the metrics subscriber creates their series in this order). */
export function protocolTelemetries(): Iterable<ProtocolTelemetry> {
  return descriptors.values();
}

/** The request headers that carry a protocol's session id, and the span attribute it goes under. */
export function sessionHeaders(): ReadonlyArray<{ readonly header: string; readonly attribute: string }> {
  return headers;
}

/**
 * Adds a protocol's telemetry descriptor; registering the same descriptor again is a no-op, another one under a
 * taken name is refused. Returns how to remove it.
 */
export function registerProtocolTelemetry(descriptor: ProtocolTelemetry): () => void {
  const taken = descriptors.get(descriptor.name);
  if (taken === descriptor) return () => undefined;
  if (taken) throw new GatewayError(ErrorCodes.EXTENSION_CONFLICT, `telemetry of message protocol "${descriptor.name}" is already registered`);
  descriptors.set(descriptor.name, descriptor);
  indexHeaders();
  return () => {
    if (descriptors.get(descriptor.name) !== descriptor) return;
    descriptors.delete(descriptor.name);
    indexHeaders();
  };
}

function indexHeaders(): void {
  const next: Array<{ header: string; attribute: string }> = [];
  for (const d of descriptors.values()) if (d.session?.header) next.push({ header: d.session.header, attribute: d.session.attribute });
  headers = next;
}
