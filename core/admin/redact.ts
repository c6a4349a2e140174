/** The admin server redacts with the gateway's one redaction (core/telemetry/redact.ts). */
export { redactSecrets } from '../telemetry/index.ts';
