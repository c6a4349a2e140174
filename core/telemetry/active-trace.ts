import { lazy } from '../lazy.ts';

/**
 * The trace id of the OpenTelemetry span active where the caller runs, for readers of trace ids (the admin
 * observer) that must not load OpenTelemetry at startup. A span can only be active once some code in the process
 * registered a global context manager through the OpenTelemetry API (the gateway's own tracing passes contexts
 * explicitly and registers none): until then the answer is undefined without loading anything; after, the API is
 * loaded and asked.
 */
const api = lazy<typeof import('@opentelemetry/api')>('@opentelemetry/api');
/** Where @opentelemetry/api 1.x keeps what was registered globally (its `context` is the context manager). */
const API_GLOBAL = Symbol.for('opentelemetry.js.api.1');

export function activeTraceId(): string | undefined {
  const registered = (globalThis as Record<symbol, { context?: unknown } | undefined>)[API_GLOBAL];
  if (registered?.context === undefined) return undefined;
  const span = api().trace.getActiveSpan()?.spanContext();
  return span && api().isSpanContextValid(span) ? span.traceId : undefined;
}
