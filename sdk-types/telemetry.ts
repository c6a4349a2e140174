import type { SecretSource } from './security.ts';

/**
 * Observability settings: the Prometheus stats server, OpenTelemetry traces, Langfuse export and the audit log.
 * Each block is independent; none of them can slow or fail traffic (exports are queued and bounded, drops counted).
 */

/** Where Prometheus scrapes `/metrics` (Prometheus text, or OpenMetrics when the scraper asks for it). */
export interface StatsConfig {
  /**
   * `host:port` of the stats server, or `false` for none. agentgateway's `config.statsAddr` maps here.
   * @default '127.0.0.1:15020'
   * @example address: '0.0.0.0:15020'
   */
  address?: string | false;
}

/**
 * OpenTelemetry traces, exported over OTLP (HTTP or gRPC). The standard `OTEL_*` environment variables fill what is
 * absent; with no `tracing` block at all, `OTEL_EXPORTER_OTLP_ENDPOINT` (or `..._TRACES_ENDPOINT`) turns tracing on
 * by itself, and `OTEL_SDK_DISABLED=true` / `OTEL_TRACES_EXPORTER=none` keep it off (docs/telemetry-switches.md).
 * A `tracing` block always wins over the environment's switches.
 */
export interface TracingConfig {
  /**
   * The OTLP traces URL: for HTTP the full URL of the traces path, for gRPC the collector's `http(s)://host:port`
   * (`http:` is plaintext, `https:` TLS).
   * @default `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, else `OTEL_EXPORTER_OTLP_ENDPOINT` (+ '/v1/traces' over HTTP), else 'http://localhost:4318/v1/traces' (HTTP) or 'http://localhost:4317' (gRPC)
   * @example endpoint: 'http://127.0.0.1:4318/v1/traces'
   */
  endpoint?: string;
  /**
   * Wire format: OTLP over HTTP with protobuf or JSON bodies, or OTLP over gRPC (agentgateway's default).
   * @default 'http/protobuf' (or `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL` / `OTEL_EXPORTER_OTLP_PROTOCOL`)
   * @example protocol: 'grpc'
   */
  protocol?: 'http/protobuf' | 'http/json' | 'grpc';
  /** Extra headers on every export (credentials of the trace backend). @default {} (or `OTEL_EXPORTER_OTLP_HEADERS`) @example headers: { 'x-honeycomb-team': 'key' } */
  headers?: Record<string, string>;
  /**
   * Share of new traces that are sampled, 0 to 1; a request that arrives with a sampled `traceparent` follows its
   * parent's decision.
   * @default 1 (or `OTEL_TRACES_SAMPLER_ARG`)
   * @example samplerRatio: 0.1
   */
  samplerRatio?: number;
  /**
   * Share of requests that arrive with a sampled W3C `traceparent` that are traced (agentgateway's
   * `clientSampling`): 1 follows the caller's decision, 0 ignores it (only `samplerRatio` starts traces then, for
   * requests without one).
   * @default 1
   * @example clientSamplerRatio: 0
   */
  clientSamplerRatio?: number;
  /** `service.name` of the spans. @default `OTEL_SERVICE_NAME`, else 'portcullis' @example serviceName: 'edge-gateway' */
  serviceName?: string;
  /** Resource attributes added to every span (merged over `OTEL_RESOURCE_ATTRIBUTES`). @default {} @example resourceAttributes: { 'deployment.environment.name': 'prod' } */
  resourceAttributes?: Record<string, string | number | boolean>;
  /** Spans waiting for export at most; beyond it new spans are dropped and counted. @default 2048 @example maxQueueSize: 8192 */
  maxQueueSize?: number;
  /** How long one export may take before it counts as failed (its spans dropped). @default 10000 @example exportTimeoutMs: 2000 */
  exportTimeoutMs?: number;
  /** Delay between two exports of a partly filled batch. @default 1000 @example scheduledDelayMs: 200 */
  scheduledDelayMs?: number;
}

/** Langfuse export through Langfuse's own OpenTelemetry integration (`@langfuse/otel`). */
export interface LangfuseConfig {
  /** The project's public key. @default { env: 'LANGFUSE_PUBLIC_KEY' } @example publicKey: { env: 'LANGFUSE_PUBLIC_KEY' } */
  publicKey?: SecretSource;
  /** The project's secret key (prefer `env` or `file`). @default { env: 'LANGFUSE_SECRET_KEY' } @example secretKey: { file: '/run/secrets/langfuse' } */
  secretKey?: SecretSource;
  /** The Langfuse server. @default `LANGFUSE_BASE_URL`, else 'https://cloud.langfuse.com' @example baseUrl: 'http://localhost:3000' */
  baseUrl?: string;
  /**
   * Tool-call input and output on observations: `full` as they passed, `redacted` with personal data and
   * credentials masked (e-mail addresses, card numbers, national ids, phone numbers, tokens, secret-named fields),
   * `none` for no content.
   * @default 'redacted'
   * @example captureContent: 'none'
   */
  captureContent?: 'full' | 'redacted' | 'none';
  /** Langfuse environment tag. @default undefined @example environment: 'production' */
  environment?: string;
  /** Langfuse release tag. @default undefined @example release: '2026.11.1' */
  release?: string;
  /** Spans waiting for export at most; beyond it new spans are dropped and counted. @default 2048 @example maxQueueSize: 4096 */
  maxQueueSize?: number;
  /** Delay between two exports of a partly filled batch. @default 1000 @example flushIntervalMs: 5000 */
  flushIntervalMs?: number;
  /** How long one export may take before it counts as failed. @default 5000 @example exportTimeoutMs: 2000 */
  exportTimeoutMs?: number;
}

/**
 * The audit log: one JSON line per authorization decision (authentication, rate limit, filters, authorization, for
 * requests and protocol messages), written whatever the access-log level.
 */
export interface AuditConfig {
  /**
   * `stdout` (lines carry `"type":"audit"`), or a file that is rotated when it reaches `maxBytes`
   * (`audit.log` → `audit.log.1` …, `maxFiles` kept).
   * @default 'stdout'
   * @example destination: { file: '/var/log/portcullis/audit.log', maxBytes: 10485760, maxFiles: 5 }
   */
  destination?: 'stdout' | AuditFile;
}

/** An audit log file and its rotation. */
export interface AuditFile {
  /** Path of the file, relative to the config file. @example './audit.log' */
  file: string;
  /** Size at which the file is rotated. @default 10485760 (10 MiB) @example 1048576 */
  maxBytes?: number;
  /** Rotated files kept beside the current one. @default 5 @example 10 */
  maxFiles?: number;
}
