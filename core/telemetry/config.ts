import { isAbsolute, resolve as resolvePath } from 'node:path';
import type { SecretSource } from '../../sdk-types/security.ts';
import type { AuditConfig, LangfuseConfig, StatsConfig, TracingConfig } from '../../sdk-types/telemetry.ts';
import { HOST_PORT, isPlainObject, literal, number, object, oneOf, record, string, type Issue, type Schema } from '../schema/index.ts';
import { ErrorCodes, GatewayError } from '../errors.ts';
import { TELEMETRY_DEFAULTS } from './defaults.ts';
import { langfuseBaseUrlFromEnv, resolveTraceSinks, type Env } from './env-switches.ts';

/**
 * The schema and resolution of the observability blocks (`stats`, `tracing`, `langfuse`, `audit`), kept beside
 * their subscribers so the config files only name them.
 */

const address = string({ pattern: HOST_PORT, patternHint: '"host:port"' });
const httpUrl = string({ pattern: /^https?:\/\/[^\s]+$/, patternHint: 'an http(s) URL' });
const positive = number({ integer: true, min: 1 });

const secretSource = object(
  { secret: string({ nonEmpty: true }), env: string({ nonEmpty: true }), file: string({ nonEmpty: true }) },
  { exactlyOne: ['secret', 'env', 'file'] },
);

const attributeValue: Schema = {
  describe: 'string | number | boolean',
  check(value, path, issues) {
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      issues.push({ path, message: `expected string | number | boolean, got ${value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value}` });
    }
  },
  jsonSchema: () => ({ type: ['string', 'number', 'boolean'] }),
};

export const telemetrySchemas: Record<'stats' | 'tracing' | 'langfuse' | 'audit', Schema> = {
  stats: object({
    address: oneOf('string | false', [
      { when: (v) => v === false, schema: literal(false) },
      { when: (v) => typeof v === 'string', schema: address },
    ]),
  }),
  tracing: object({
    endpoint: httpUrl,
    protocol: literal('http/protobuf', 'http/json', 'grpc'),
    headers: record(string()),
    samplerRatio: number({ min: 0, max: 1 }),
    clientSamplerRatio: number({ min: 0, max: 1 }),
    serviceName: string({ nonEmpty: true }),
    resourceAttributes: record(attributeValue),
    maxQueueSize: positive,
    exportTimeoutMs: positive,
    scheduledDelayMs: positive,
  }),
  langfuse: object({
    publicKey: secretSource,
    secretKey: secretSource,
    baseUrl: httpUrl,
    captureContent: literal('full', 'redacted', 'none'),
    environment: string({ nonEmpty: true }),
    release: string({ nonEmpty: true }),
    maxQueueSize: positive,
    flushIntervalMs: positive,
    exportTimeoutMs: positive,
  }),
  audit: object({
    destination: oneOf("'stdout' | { file }", [
      { when: (v) => typeof v === 'string', schema: literal('stdout') },
      { when: isPlainObject, schema: object({ file: string({ nonEmpty: true }), maxBytes: number({ integer: true, min: 1024 }), maxFiles: number({ integer: true, min: 0, max: 100 }) }, { required: ['file'] }) },
    ]),
  }),
};

export type TracingProtocol = 'http/protobuf' | 'http/json' | 'grpc';

export interface ResolvedTracing {
  readonly endpoint: string;
  readonly protocol: TracingProtocol;
  readonly headers: Readonly<Record<string, string>>;
  readonly samplerRatio: number;
  /** Share of requests with a sampled incoming `traceparent` that are traced. */
  readonly clientSamplerRatio: number;
  readonly serviceName: string;
  readonly resourceAttributes: Readonly<Record<string, string | number | boolean>>;
  readonly maxQueueSize: number;
  readonly exportTimeoutMs: number;
  readonly scheduledDelayMs: number;
}

export interface ResolvedLangfuse {
  /** Where the keys are read from when telemetry starts (never stored in the resolved config itself). */
  readonly publicKey: SecretSource;
  readonly secretKey: SecretSource;
  readonly baseUrl: string;
  readonly captureContent: 'full' | 'redacted' | 'none';
  readonly environment?: string;
  readonly release?: string;
  readonly maxQueueSize: number;
  readonly flushIntervalMs: number;
  readonly exportTimeoutMs: number;
}

export interface ResolvedAudit {
  /** Absolute path, or undefined for stdout. */
  readonly file?: string;
  readonly maxBytes: number;
  readonly maxFiles: number;
}

/** Whether a trace sink is on, and why (the start-up log says it): the config, an environment variable, or neither. */
export interface SinkDecision {
  readonly on: boolean;
  /** `config`, the variable that turned it on or off, or `none`. */
  readonly from: string;
  /** One line for people: "tracing on (from OTEL_EXPORTER_OTLP_ENDPOINT, grpc)". Never holds a secret. */
  readonly reason: string;
}

export interface ResolvedTelemetry {
  readonly stats: { readonly address: string | false };
  readonly tracing?: ResolvedTracing;
  readonly langfuse?: ResolvedLangfuse;
  readonly audit?: ResolvedAudit;
  /** How `tracing` and `langfuse` were decided (config block, environment switch, or off). */
  readonly decisions: { readonly tracing: SinkDecision; readonly langfuse: SinkDecision };
  /** The config of each plugged-in sink that is on, by name (see sinks.ts). */
  readonly sinks: Readonly<Record<string, unknown>>;
}

export { TELEMETRY_DEFAULTS } from './defaults.ts';
export { parseHeaderList, telemetryEnvIssues } from './env-switches.ts';

type TelemetryBlocks = { stats?: StatsConfig; tracing?: TracingConfig; langfuse?: LangfuseConfig; audit?: AuditConfig; sinks?: Readonly<Record<string, unknown>> };

/**
 * Fills in the defaults of the observability blocks. The standard environment fills gaps and, with no block in the
 * config, switches the trace sinks itself (resolveTraceSinks). Throws a config error naming the variable when one
 * it reads is malformed (validation reports the same first, see telemetryEnvIssues).
 */
export function resolveTelemetry(config: TelemetryBlocks, baseDir: string, env: Env = process.env): ResolvedTelemetry {
  const sinks = resolveTraceSinks(config, env);
  if (sinks.issues.length > 0) throw new GatewayError(ErrorCodes.CONFIG_INVALID, sinks.issues.map((i) => `${i.path}: ${i.message}`).join('\n'));
  const out: { -readonly [K in keyof ResolvedTelemetry]: ResolvedTelemetry[K] } = {
    stats: { address: config.stats?.address ?? TELEMETRY_DEFAULTS.statsAddress },
    decisions: sinks.decisions,
    sinks: config.sinks ?? {},
  };
  if (sinks.tracing) out.tracing = sinks.tracing;
  if (sinks.langfuse) {
    const l = sinks.langfuse;
    out.langfuse = {
      publicKey: withBase(l.publicKey ?? { env: 'LANGFUSE_PUBLIC_KEY' }, baseDir),
      secretKey: withBase(l.secretKey ?? { env: 'LANGFUSE_SECRET_KEY' }, baseDir),
      baseUrl: (l.baseUrl ?? langfuseBaseUrlFromEnv(env)?.value ?? 'https://cloud.langfuse.com').replace(/\/+$/, ''),
      captureContent: l.captureContent ?? 'redacted',
      ...(l.environment !== undefined ? { environment: l.environment } : {}),
      ...(l.release !== undefined ? { release: l.release } : {}),
      maxQueueSize: l.maxQueueSize ?? TELEMETRY_DEFAULTS.maxQueueSize,
      flushIntervalMs: l.flushIntervalMs ?? TELEMETRY_DEFAULTS.scheduledDelayMs,
      exportTimeoutMs: l.exportTimeoutMs ?? TELEMETRY_DEFAULTS.langfuseExportTimeoutMs,
    };
  }
  if (config.audit) {
    const d = config.audit.destination ?? 'stdout';
    out.audit =
      d === 'stdout'
        ? { maxBytes: TELEMETRY_DEFAULTS.auditMaxBytes, maxFiles: TELEMETRY_DEFAULTS.auditMaxFiles }
        : { file: isAbsolute(d.file) ? d.file : resolvePath(baseDir, d.file), maxBytes: d.maxBytes ?? TELEMETRY_DEFAULTS.auditMaxBytes, maxFiles: d.maxFiles ?? TELEMETRY_DEFAULTS.auditMaxFiles };
  }
  return out;
}

function withBase(source: SecretSource, baseDir: string): SecretSource {
  return source.file !== undefined && !isAbsolute(source.file) ? { file: resolvePath(baseDir, source.file) } : source;
}
