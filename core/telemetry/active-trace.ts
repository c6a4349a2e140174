/**
 * The trace id of the OpenTelemetry span active where the caller runs. The lookup is installed when trace export
 * is first loaded (core/telemetry/tracing.ts); before that no span can be active and the answer is undefined, so
 * readers of the trace id (the admin observer) need not load OpenTelemetry themselves.
 */
let lookup: (() => string | undefined) | undefined;

export function activeTraceId(): string | undefined {
  return lookup?.();
}

export function installActiveTraceLookup(fn: () => string | undefined): void {
  lookup = fn;
}
