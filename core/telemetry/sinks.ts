import { ErrorCodes, GatewayError } from '../errors.ts';
import { object, type Schema } from '../schema/index.ts';
import type { Logger } from './logger.ts';

/**
 * A telemetry sink plugged in like a policy: a name (its key under the config's `sinks`), a schema for that key,
 * and a start function that subscribes to the gateway's events (the `node:diagnostics_channel` channels of
 * `events.ts`) and returns how to stop. It is started when its key is in the config, restarted when the key's
 * value changes on reload, stopped when the key goes. A sink never fails traffic: it only observes.
 *
 * @example
 * export const countingSink: TelemetrySinkDefinition<{ label: string }> = {
 *   name: 'counting',
 *   schema: object({ label: string() }, { required: ['label'] }),
 *   start(config) {
 *     const onRequest = () => count++;
 *     requestChannel.subscribe(onRequest);
 *     return { close: () => requestChannel.unsubscribe(onRequest) };
 *   },
 * };
 */
export interface TelemetrySinkDefinition<C = unknown> {
  /** The key under `sinks` in the config. */
  readonly name: string;
  /** Schema of the value under that key (unknown keys rejected, errors with their path). */
  readonly schema: Schema;
  start(config: C, context: TelemetrySinkContext): TelemetrySinkInstance | Promise<TelemetrySinkInstance>;
}

export interface TelemetrySinkContext {
  readonly logger: Logger;
  /** The gateway's name (`RequestEvent.gateway`), when it has one. */
  readonly gateway?: string;
}

export interface TelemetrySinkInstance {
  /** Exports what the sink holds (on reload and before close). */
  flush?(): Promise<void>;
  /** Unsubscribes and releases what the sink holds. */
  close(): void | Promise<void>;
}

const sinks: TelemetrySinkDefinition<any>[] = [];

/** The registered sinks, in registration order. */
export function telemetrySinks(): readonly TelemetrySinkDefinition<any>[] {
  return sinks;
}

/**
 * Adds a telemetry sink: one folder with its definition, and this one call (from the composition root, or from
 * `createGateway({ sinks })`). Returns how to remove it again. A name that is taken is refused.
 *
 * @example
 * const unregister = registerTelemetrySink(countingSink);
 */
export function registerTelemetrySink(definition: TelemetrySinkDefinition<any>): () => void {
  if (sinks.some((s) => s.name === definition.name)) {
    throw new GatewayError(ErrorCodes.EXTENSION_CONFLICT, `telemetry sink "${definition.name}" is already registered: pick another name for the plugged-in sink`);
  }
  sinks.push(definition);
  return () => {
    const at = sinks.indexOf(definition);
    if (at >= 0) sinks.splice(at, 1);
  };
}

/** The schema of the config's `sinks` block: one key per registered sink (built per validation). */
export function sinksSchema(): Schema {
  return object(Object.fromEntries(sinks.map((s) => [s.name, s.schema])));
}
