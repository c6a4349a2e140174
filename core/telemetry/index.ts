export { subscribeAccessLog } from './access-log.ts';
// The settings core/config validates and resolves (its telemetry blocks, the access log's shape, the sinks' keys).
export { accessLogShapeSchema, resolveAccessLogShape, type ResolvedAccessLogShape } from './access-log-shape.ts';
export { resolveTelemetry, telemetryEnvIssues, telemetrySchemas, type ResolvedTelemetry } from './config.ts';
export { activeTraceId } from './active-trace.ts';
export { registerTelemetrySink, sinksSchema, telemetrySinks, type TelemetrySinkContext, type TelemetrySinkDefinition, type TelemetrySinkInstance } from './sinks.ts';
export { createLogger, type Logger, type LoggerOptions } from './logger.ts';
export {
  GENERIC_PROTOCOL_TELEMETRY,
  protocolTelemetry,
  registerProtocolTelemetry,
  type MessageLabelValues,
  type ProtocolMetrics,
  type ProtocolTelemetry,
} from './protocols.ts';
export { REDACTED, SECRET_KEY, redactSecrets, redactString } from './redact.ts';
export type { PhaseName, TelemetryConfigView, TelemetryRouteView } from './view.ts';
// Types only: the sinks' runtime (prom-client, the stats server) loads where a gateway starts them, not with every
// import of this folder (`portcullis validate`, the policies).
export type { Telemetry } from './telemetry.ts';
export {
  CHANNELS,
  LOG_VARIABLES,
  connectionChannel,
  credentialChannel,
  messageChannel,
  policyChannel,
  processChannel,
  publish,
  rateLimitChannel,
  reloadChannel,
  requestChannel,
  sandboxChannel,
  sessionChannel,
  upstreamChannel,
  type ConnectionEvent,
  type CredentialLinkEvent,
  type MessageEvent,
  type PolicyDecisionEvent,
  type ProcessEvent,
  type RateLimitEvent,
  type ReloadEvent,
  type RequestEvent,
  type SandboxEvent,
  type SessionEvent,
  type UpstreamAttemptEvent,
} from './events.ts';
