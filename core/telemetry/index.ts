export { subscribeAccessLog } from './access-log.ts';
export { registerTelemetrySink, telemetrySinks, type TelemetrySinkContext, type TelemetrySinkDefinition, type TelemetrySinkInstance } from './sinks.ts';
export { createLogger, type Logger, type LoggerOptions } from './logger.ts';
export type { PhaseName, TelemetryConfigView, TelemetryRouteView } from './view.ts';
export {
  CHANNELS,
  LOG_VARIABLES,
  credentialChannel,
  messageChannel,
  policyChannel,
  processChannel,
  publish,
  reloadChannel,
  requestChannel,
  sandboxChannel,
  sessionChannel,
  upstreamChannel,
  type CredentialLinkEvent,
  type MessageEvent,
  type PolicyDecisionEvent,
  type ProcessEvent,
  type ReloadEvent,
  type RequestEvent,
  type SandboxEvent,
  type SessionEvent,
  type UpstreamAttemptEvent,
} from './events.ts';
