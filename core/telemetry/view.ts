import type { ResolvedTelemetry } from './config.ts';

/**
 * What telemetry reads of the layers above it, declared here as narrow structural views so that telemetry
 * imports neither core/config nor core/pipeline (it sits below both). The higher layers hand in their own
 * objects: a `ResolvedConfig` is assignable to `TelemetryConfigView`, a pipeline `Phase` to `PhaseName`
 * (core/server/create.ts checks the first where it hands the config in). A field added here must exist there.
 */

/**
 * A policy's phase as telemetry records it: a label of the audit line and of the policy metrics. The phase
 * order itself is the pipeline's (core/pipeline/types.ts `PHASES`); telemetry only writes the name.
 */
export type PhaseName = string;

/** The routes telemetry labels its metrics with: each route's name under its listener, and its first backend's kind. */
export interface TelemetryRouteView {
  readonly name: string;
  readonly backends: readonly { readonly kind: string }[];
}

/** The parts of the resolved config that telemetry reads: its own block, and the route table for metric labels. */
export interface TelemetryConfigView {
  /** Metrics, traces, Langfuse, the audit log and plugged-in sinks (resolved by core/telemetry/config.ts). */
  readonly telemetry: ResolvedTelemetry;
  readonly binds: readonly { readonly listeners: readonly { readonly name: string; readonly routes: readonly TelemetryRouteView[] }[] }[];
}
