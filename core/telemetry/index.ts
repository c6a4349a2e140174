export { subscribeAccessLog } from './access-log.ts';
export { createLogger, type Logger, type LoggerOptions } from './logger.ts';
export {
  CHANNELS,
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
