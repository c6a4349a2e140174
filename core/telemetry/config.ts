import { isAbsolute, resolve as resolvePath } from 'node:path';
import type { SecretSource } from '../../sdk-types/security.ts';
import type { AuditConfig, LangfuseConfig, StatsConfig, TracingConfig } from '../../sdk-types/telemetry.ts';
import { HOST_PORT } from '../schema/index.ts';
import { isPlainObject, literal, number, object, oneOf, record, string, type Schema } from '../schema/index.ts';

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
    protocol: literal('http/protobuf', 'http/json'),
    headers: record(string()),
    samplerRatio: number({ min: 0, max: 1 }),
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

export interface ResolvedTracing {
  readonly endpoint: string;
  readonly protocol: 'http/protobuf' | 'http/json';
  readonly headers: Readonly<Record<string, string>>;
  readonly samplerRatio: number;
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

export interface ResolvedTelemetry {
  readonly stats: { readonly address: string | false };
  readonly tracing?: ResolvedTracing;
  readonly langfuse?: ResolvedLangfuse;
  readonly audit?: ResolvedAudit;
  /** The config of each plugged-in sink that is on, by name (see sinks.ts). */
  readonly sinks: Readonly<Record<string, unknown>>;
}

export const TELEMETRY_DEFAULTS = {
  statsAddress: '127.0.0.1:15020',
  maxQueueSize: 2048,
  exportTimeoutMs: 10_000,
  langfuseExportTimeoutMs: 5_000,
  scheduledDelayMs: 1_000,
  auditMaxBytes: 10 * 1024 * 1024,
  auditMaxFiles: 5,
} as const;

type Env = Readonly<Record<string, string | undefined>>;

/** Fills in the defaults of the observability blocks; the standard `OTEL_*` and `LANGFUSE_*` variables fill gaps. */
export function resolveTelemetry(
  config: { stats?: StatsConfig; tracing?: TracingConfig; langfuse?: LangfuseConfig; audit?: AuditConfig; sinks?: Readonly<Record<string, unknown>> },
  baseDir: string,
  env: Env = process.env,
): ResolvedTelemetry {
  const out: { -readonly [K in keyof ResolvedTelemetry]: ResolvedTelemetry[K] } = {
    stats: { address: config.stats?.address ?? TELEMETRY_DEFAULTS.statsAddress },
    sinks: config.sinks ?? {},
  };
  if (config.tracing) out.tracing = resolveTracing(config.tracing, env);
  if (config.langfuse) {
    const l = config.langfuse;
    out.langfuse = {
      publicKey: withBase(l.publicKey ?? { env: 'LANGFUSE_PUBLIC_KEY' }, baseDir),
      secretKey: withBase(l.secretKey ?? { env: 'LANGFUSE_SECRET_KEY' }, baseDir),
      baseUrl: (l.baseUrl ?? env.LANGFUSE_BASE_URL ?? 'https://cloud.langfuse.com').replace(/\/+$/, ''),
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

function resolveTracing(t: TracingConfig, env: Env): ResolvedTracing {
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.replace(/\/+$/, '');
  const endpoint = t.endpoint ?? env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? (base ? `${base}/v1/traces` : 'http://localhost:4318/v1/traces');
  const envProtocol = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL;
  const envRatio = env.OTEL_TRACES_SAMPLER_ARG !== undefined ? Number(env.OTEL_TRACES_SAMPLER_ARG) : undefined;
  return {
    endpoint,
    protocol: t.protocol ?? (envProtocol === 'http/json' ? 'http/json' : 'http/protobuf'),
    headers: { ...parseHeaderList(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS ?? env.OTEL_EXPORTER_OTLP_HEADERS), ...t.headers },
    samplerRatio: t.samplerRatio ?? (envRatio !== undefined && envRatio >= 0 && envRatio <= 1 ? envRatio : 1),
    serviceName: t.serviceName ?? env.OTEL_SERVICE_NAME ?? 'portcullis',
    resourceAttributes: { ...t.resourceAttributes },
    maxQueueSize: t.maxQueueSize ?? TELEMETRY_DEFAULTS.maxQueueSize,
    exportTimeoutMs: t.exportTimeoutMs ?? TELEMETRY_DEFAULTS.exportTimeoutMs,
    scheduledDelayMs: t.scheduledDelayMs ?? TELEMETRY_DEFAULTS.scheduledDelayMs,
  };
}

function withBase(source: SecretSource, baseDir: string): SecretSource {
  return source.file !== undefined && !isAbsolute(source.file) ? { file: resolvePath(baseDir, source.file) } : source;
}

/** `OTEL_EXPORTER_OTLP_HEADERS`: `key=value,key2=value2`, values URL-encoded. */
export function parseHeaderList(list: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (list ?? '').split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    try {
      out[part.slice(0, eq).trim()] = decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
    }
  }
  return out;
}
