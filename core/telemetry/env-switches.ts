import type { LangfuseConfig, TracingConfig } from '../../sdk-types/telemetry.ts';
import { isPlainObject, type Issue } from '../schema/index.ts';
import type { ResolvedTelemetry, ResolvedTracing, SinkDecision, TracingProtocol } from './config.ts';
import { TELEMETRY_DEFAULTS } from './defaults.ts';

/**
 * The standard environment switches of the trace sinks (docs/telemetry-switches.md): the OpenTelemetry SDK's
 * `OTEL_*` variables and the Langfuse SDK's `LANGFUSE_*` ones, read the way those SDKs read them, so that a
 * platform team's Helm values turn tracing on without touching the gateway's config.
 */

export type Env = Readonly<Record<string, string | undefined>>;

export type TraceBlocks = { tracing?: TracingConfig; langfuse?: LangfuseConfig };

/**
 * The problems of the environment variables this config would read (a protocol not known, an endpoint that is not
 * an http(s) URL, a sampler argument out of range), each with the variable's name as its path; empty when none.
 * Validation reports them with the config's own issues, so the gateway refuses to start on them.
 */
export function telemetryEnvIssues(config: unknown, env: Env = process.env): Issue[] {
  if (!isPlainObject(config)) return [];
  const blocks: TraceBlocks = {
    tracing: isPlainObject(config.tracing) ? (config.tracing as TracingConfig) : undefined,
    langfuse: isPlainObject(config.langfuse) ? (config.langfuse as LangfuseConfig) : undefined,
  };
  return resolveTraceSinks(blocks, env).issues;
}

/** Blank is unset (as the OpenTelemetry spec reads its variables). */
function envValue(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v ? v : undefined;
}

const PROTOCOLS: readonly TracingProtocol[] = ['grpc', 'http/protobuf', 'http/json'];
const SAMPLERS = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'];

function envIssue(name: string, message: string): Issue {
  return { path: `env ${name}`, message };
}

function isHttpUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    return false;
  }
}

/** The first of `names` that is set, with its name. */
function firstSet(env: Env, ...names: string[]): { name: string; value: string } | undefined {
  for (const name of names) {
    const value = envValue(env, name);
    if (value !== undefined) return { name, value };
  }
  return undefined;
}

export function langfuseBaseUrlFromEnv(env: Env) {
  return firstSet(env, 'LANGFUSE_BASE_URL', 'LANGFUSE_HOST');
}

/**
 * One rule for both trace sinks, used by validation and resolution alike: a config block always wins (the
 * environment only fills what it leaves out); without one, `OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT` turns tracing on
 * unless `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`, and `LANGFUSE_PUBLIC_KEY` + `LANGFUSE_SECRET_KEY`
 * turn Langfuse on.
 */
export function resolveTraceSinks(
  config: TraceBlocks,
  env: Env,
): { tracing?: ResolvedTracing; langfuse?: LangfuseConfig; decisions: ResolvedTelemetry['decisions']; issues: Issue[] } {
  const issues: Issue[] = [];
  const envEndpoint = firstSet(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_EXPORTER_OTLP_ENDPOINT');
  // The switches that keep the environment's tracing off, read (and checked) only when they decide something.
  const decides = !config.tracing && envEndpoint !== undefined;
  const disabledRaw = envValue(env, 'OTEL_SDK_DISABLED');
  if (decides && disabledRaw !== undefined && !/^(true|false)$/i.test(disabledRaw)) issues.push(envIssue('OTEL_SDK_DISABLED', `expected "true" or "false", got ${JSON.stringify(disabledRaw)}`));
  const exporterRaw = envValue(env, 'OTEL_TRACES_EXPORTER');
  const exporters = exporterRaw?.split(',').map((e) => e.trim().toLowerCase()).filter(Boolean) ?? [];
  if (decides && exporters.some((e) => e !== 'otlp' && e !== 'none')) issues.push(envIssue('OTEL_TRACES_EXPORTER', `expected "otlp" or "none", got ${JSON.stringify(exporterRaw)} (Portcullis exports traces over OTLP only)`));
  const off = disabledRaw?.toLowerCase() === 'true' ? 'OTEL_SDK_DISABLED=true' : exporters.length > 0 && exporters.every((e) => e === 'none') ? 'OTEL_TRACES_EXPORTER=none' : undefined;

  let tracing: ResolvedTracing | undefined;
  let tracingDecision: SinkDecision;
  if (config.tracing) {
    tracing = resolveTracing(config.tracing, env, issues);
    const ignored = off ? `; ${off} ignored: the config's tracing block wins` : '';
    tracingDecision = { on: true, from: 'config', reason: `tracing on (from the config's tracing block, ${tracing.protocol}${ignored})` };
  } else if (envEndpoint && off) {
    tracingDecision = { on: false, from: off.split('=')[0], reason: `tracing off (${off}, although ${envEndpoint.name} is set)` };
  } else if (envEndpoint) {
    tracing = resolveTracing({}, env, issues);
    tracingDecision = { on: true, from: envEndpoint.name, reason: `tracing on (from ${envEndpoint.name}, ${tracing.protocol})` };
  } else {
    tracingDecision = { on: false, from: 'none', reason: 'tracing off (no tracing block in the config, no OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT in the environment)' };
  }

  let langfuse: LangfuseConfig | undefined;
  let langfuseDecision: SinkDecision;
  const publicKey = envValue(env, 'LANGFUSE_PUBLIC_KEY');
  const secretKey = envValue(env, 'LANGFUSE_SECRET_KEY');
  const baseUrl = langfuseBaseUrlFromEnv(env);
  // The base URL is read when Langfuse is on and the config's block (if any) gives none.
  const readsBaseUrl = config.langfuse ? config.langfuse.baseUrl === undefined : Boolean(publicKey && secretKey);
  if (baseUrl && readsBaseUrl && !isHttpUrl(baseUrl.value)) issues.push(envIssue(baseUrl.name, `expected an http(s) URL such as "https://cloud.langfuse.com", got ${JSON.stringify(baseUrl.value)}`));
  if (config.langfuse) {
    langfuse = config.langfuse;
    langfuseDecision = { on: true, from: 'config', reason: "langfuse on (from the config's langfuse block)" };
  } else if (publicKey && secretKey) {
    langfuse = {
      ...(envValue(env, 'LANGFUSE_TRACING_ENVIRONMENT') ? { environment: envValue(env, 'LANGFUSE_TRACING_ENVIRONMENT') } : {}),
      ...(envValue(env, 'LANGFUSE_RELEASE') ? { release: envValue(env, 'LANGFUSE_RELEASE') } : {}),
    };
    langfuseDecision = { on: true, from: 'LANGFUSE_PUBLIC_KEY', reason: `langfuse on (from LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY${baseUrl ? `, ${baseUrl.name}` : ''})` };
  } else if (publicKey || secretKey) {
    const [set, missing] = publicKey ? ['LANGFUSE_PUBLIC_KEY', 'LANGFUSE_SECRET_KEY'] : ['LANGFUSE_SECRET_KEY', 'LANGFUSE_PUBLIC_KEY'];
    langfuseDecision = { on: false, from: set, reason: `langfuse off (${set} is set but ${missing} is not)` };
  } else {
    langfuseDecision = { on: false, from: 'none', reason: 'langfuse off (no langfuse block in the config, no LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY in the environment)' };
  }
  return { tracing, langfuse, decisions: { tracing: tracingDecision, langfuse: langfuseDecision }, issues };
}

function resolveTracing(t: TracingConfig, env: Env, issues: Issue[]): ResolvedTracing {
  const envProtocol = t.protocol === undefined ? firstSet(env, 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL') : undefined;
  let protocol: TracingProtocol = t.protocol ?? 'http/protobuf';
  if (envProtocol) {
    if (PROTOCOLS.includes(envProtocol.value as TracingProtocol)) protocol = envProtocol.value as TracingProtocol;
    else issues.push(envIssue(envProtocol.name, `expected one of ${PROTOCOLS.map((p) => `"${p}"`).join(', ')}, got ${JSON.stringify(envProtocol.value)}`));
  }
  let endpoint = t.endpoint;
  if (endpoint === undefined) {
    const specific = firstSet(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
    const base = specific ? undefined : firstSet(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
    const given = specific ?? base;
    if (given && !isHttpUrl(given.value)) {
      issues.push(envIssue(given.name, `expected an http(s) URL such as "http://collector:${protocol === 'grpc' ? '4317' : '4318'}", got ${JSON.stringify(given.value)}`));
    }
    // Over HTTP the base endpoint gets the signal's path; the signal's own endpoint and gRPC take the URL as given.
    if (specific) endpoint = specific.value;
    else if (base) endpoint = protocol === 'grpc' ? base.value : `${base.value.replace(/\/+$/, '')}/v1/traces`;
    else endpoint = protocol === 'grpc' ? 'http://localhost:4317' : 'http://localhost:4318/v1/traces';
  }
  let samplerRatio = t.samplerRatio;
  if (samplerRatio === undefined) {
    const sampler = envValue(env, 'OTEL_TRACES_SAMPLER')?.toLowerCase();
    if (sampler !== undefined && !SAMPLERS.includes(sampler)) {
      issues.push(envIssue('OTEL_TRACES_SAMPLER', `expected one of ${SAMPLERS.join(', ')}, got ${JSON.stringify(env.OTEL_TRACES_SAMPLER)} (new traces are always sampled parent-based)`));
    }
    if (sampler === 'always_off' || sampler === 'parentbased_always_off') samplerRatio = 0;
    else if (sampler === 'always_on' || sampler === 'parentbased_always_on') samplerRatio = 1;
    else {
      const arg = envValue(env, 'OTEL_TRACES_SAMPLER_ARG');
      if (arg !== undefined) {
        const n = Number(arg);
        if (!Number.isFinite(n) || n < 0 || n > 1) issues.push(envIssue('OTEL_TRACES_SAMPLER_ARG', `expected a number from 0 to 1, got ${JSON.stringify(arg)}`));
        else samplerRatio = n;
      }
    }
  }
  return {
    endpoint,
    protocol,
    headers: { ...parseHeaderList(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS ?? env.OTEL_EXPORTER_OTLP_HEADERS), ...t.headers },
    samplerRatio: samplerRatio ?? 1,
    clientSamplerRatio: t.clientSamplerRatio ?? 1,
    serviceName: t.serviceName ?? envValue(env, 'OTEL_SERVICE_NAME') ?? 'portcullis',
    resourceAttributes: { ...t.resourceAttributes },
    maxQueueSize: t.maxQueueSize ?? TELEMETRY_DEFAULTS.maxQueueSize,
    exportTimeoutMs: t.exportTimeoutMs ?? TELEMETRY_DEFAULTS.exportTimeoutMs,
    scheduledDelayMs: t.scheduledDelayMs ?? TELEMETRY_DEFAULTS.scheduledDelayMs,
  };
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

