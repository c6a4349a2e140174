/** Defaults of the observability blocks, with their units. */
export const TELEMETRY_DEFAULTS = {
  statsAddress: '127.0.0.1:15020',
  maxQueueSize: 2048,
  exportTimeoutMs: 10_000,
  langfuseExportTimeoutMs: 5_000,
  scheduledDelayMs: 1_000,
  auditMaxBytes: 10 * 1024 * 1024,
  auditMaxFiles: 5,
} as const;
