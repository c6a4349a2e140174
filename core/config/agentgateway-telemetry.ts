import { CelCompileError, createCelEnvironment, compileCelValue, fromCelValue } from '../cel/index.ts';
import { unsupported } from './agentgateway-common.ts';
import { isPlainObject, join, type Issue } from '../schema/index.ts';

/**
 * agentgateway's telemetry spellings read into ours: `config.tracing` and `frontendPolicies.tracing` become the
 * `tracing` block (OTLP over gRPC, its default, or HTTP), `frontendPolicies.accessLog` and the older
 * `config.logging.filter`/`fields` become `logging.accessLog: { filter, add, remove }`. What has no counterpart
 * (CEL-computed span attributes, a span filter, OTLP log export) is reported by name with its path.
 */

type Obj = Record<string, unknown>;

/** agentgateway's sampling setting (`true`, `false`, a ratio, or those as strings) as a ratio; a CEL expression is reported. */
function samplingRatio(value: unknown, path: string, issues: Issue[]): number | undefined {
  let v = value;
  if (typeof v === 'string') {
    const text = v.trim();
    if (text === 'true' || text === 'false') v = text === 'true';
    else if (text !== '' && Number.isFinite(Number(text))) v = Number(text);
  }
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number' && v >= 0 && v <= 1) return v;
  if (typeof v === 'number') {
    issues.push({ path, message: `expected true, false or a ratio from 0 to 1, got ${v}` });
    return undefined;
  }
  issues.push(unsupported(`${path.split('.').pop()} as a CEL expression`, path, 'give true, false or a ratio from 0 to 1'));
  return undefined;
}

/** An OTLP endpoint and path as one URL: over HTTP the path is appended when the endpoint has none. */
function otlpUrl(endpoint: string, protocol: 'grpc' | 'http', path: unknown): string {
  if (protocol === 'grpc') return endpoint;
  try {
    const url = new URL(endpoint);
    if (url.pathname === '/' || url.pathname === '') url.pathname = typeof path === 'string' ? path : '/v1/traces';
    return url.href;
  } catch {
    // Not a URL: validation reports `tracing.endpoint` with what was written.
    return endpoint;
  }
}

function protocolOf(value: unknown, path: string, issues: Issue[]): 'grpc' | 'http' | undefined {
  if (value === undefined || value === 'grpc') return 'grpc';
  if (value === 'http') return 'http';
  issues.push({ path, message: `expected "grpc" or "http", got ${JSON.stringify(value)}` });
  return undefined;
}

/** `config.tracing`: `otlpEndpoint`, `otlpProtocol` (grpc by default), `path`, `headers`, the two samplings. */
export function mapConfigTracing(tracing: Obj, path: string, issues: Issue[]): Obj | undefined {
  const protocol = protocolOf(tracing.otlpProtocol, join(path, 'otlpProtocol'), issues);
  if (!protocol) return undefined;
  const out: Obj = { protocol: protocol === 'grpc' ? 'grpc' : 'http/protobuf' };
  // agentgateway starts no new trace unless randomSampling says so; a caller's traceparent is followed.
  out.samplerRatio = 0;
  for (const [key, value] of Object.entries(tracing)) {
    const p = join(path, key);
    if (key === 'otlpProtocol' || key === 'path') continue;
    else if (key === 'otlpEndpoint') out.endpoint = typeof value === 'string' ? otlpUrl(value, protocol, tracing.path) : value;
    else if (key === 'headers') out.headers = value;
    else if (key === 'randomSampling') {
      const r = samplingRatio(value, p, issues);
      if (r !== undefined) out.samplerRatio = r;
    } else if (key === 'clientSampling') {
      const r = samplingRatio(value, p, issues);
      if (r !== undefined) out.clientSamplerRatio = r;
    } else if (key === 'fields' && isPlainObject(value)) {
      // `fields: { add: {} }` (its LLM example) asks for nothing.
      for (const [k, v] of Object.entries(value)) {
        if ((k === 'add' && isPlainObject(v) && Object.keys(v).length === 0) || (k === 'remove' && Array.isArray(v) && v.length === 0)) continue;
        issues.push(unsupported(`config.tracing.fields.${k} (span attributes from CEL)`, join(p, k)));
      }
    } else issues.push(unsupported(`config.tracing.${key}`, p));
  }
  return out;
}

let constantEnv: ReturnType<typeof createCelEnvironment> | undefined;

/** A CEL expression of no variable (`'"my-service"'`), evaluated once at load: a resource attribute's value. */
function constant(source: unknown, path: string, issues: Issue[]): string | number | boolean | undefined {
  if (typeof source !== 'string') {
    issues.push({ path, message: `expected a CEL expression (string), got ${JSON.stringify(source)}` });
    return undefined;
  }
  try {
    const value = fromCelValue(compileCelValue((constantEnv ??= createCelEnvironment([])), source).evaluate({}));
    return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? value : JSON.stringify(value);
  } catch (err) {
    issues.push({ path, message: `invalid CEL expression ${JSON.stringify(source)}: ${err instanceof CelCompileError || err instanceof Error ? err.message : String(err)}` });
    return undefined;
  }
}

/**
 * `frontendPolicies.tracing`: the collector as `host: "host:port"` (gRPC by default, or `protocol: http` with
 * `path`), the samplings, and `resources` (CEL constants evaluated once, such as `service.name`).
 */
export function mapFrontendTracing(tracing: Obj, path: string, issues: Issue[]): Obj | undefined {
  const protocol = protocolOf(tracing.protocol, join(path, 'protocol'), issues);
  if (!protocol) return undefined;
  const out: Obj = { protocol: protocol === 'grpc' ? 'grpc' : 'http/protobuf', samplerRatio: 0 };
  const resources: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(tracing)) {
    const p = join(path, key);
    if (key === 'protocol' || key === 'path') continue;
    if (key === 'host') {
      if (typeof value !== 'string' || value === '') issues.push({ path: p, message: `expected "host:port", got ${JSON.stringify(value)}` });
      else out.endpoint = otlpUrl(/^https?:\/\//i.test(value) ? value : `http://${value}`, protocol, tracing.path);
    } else if (key === 'randomSampling' || key === 'clientSampling') {
      const r = samplingRatio(value, p, issues);
      if (r !== undefined) out[key === 'randomSampling' ? 'samplerRatio' : 'clientSamplerRatio'] = r;
    } else if (key === 'resources' && isPlainObject(value)) {
      for (const [name, source] of Object.entries(value)) {
        const v = constant(source, join(p, name), issues);
        if (v === undefined) continue;
        if (name === 'service.name' && typeof v === 'string') out.serviceName = v;
        else resources[name] = v;
      }
    } else if ((key === 'attributes' && isPlainObject(value) && Object.keys(value).length === 0) || (key === 'remove' && Array.isArray(value) && value.length === 0)) {
      continue;
    } else if (key === 'backend' || key === 'service') {
      issues.push(unsupported(`frontendPolicies.tracing.${key}`, p, 'give the collector as host: "host:port"'));
    } else if (key === 'attributes' || key === 'remove' || key === 'filter') {
      issues.push(unsupported(`frontendPolicies.tracing.${key} (per-request span ${key === 'filter' ? 'filtering' : 'attributes'} from CEL)`, p));
    } else issues.push(unsupported(`frontendPolicies.tracing.${key}`, p));
  }
  if (out.endpoint === undefined && !issues.some((i) => i.path.startsWith(path))) issues.push({ path: join(path, 'host'), message: 'is required ("host:port" of the OTLP collector)' });
  if (Object.keys(resources).length > 0) out.resourceAttributes = resources;
  return out;
}

/**
 * `frontendPolicies.accessLog` (`filter`, `add`, `remove`, checked as CEL by validation) as our
 * `logging.accessLog` shape; `otlp` and `database` export are reported.
 */
export function mapAccessLog(accessLog: Obj, path: string, issues: Issue[]): Obj {
  const out: Obj = {};
  for (const [key, value] of Object.entries(accessLog)) {
    if (key === 'filter' || key === 'add' || key === 'remove') out[key] = value;
    else if (key === 'otlp') issues.push(unsupported('frontendPolicies.accessLog.otlp (access logs over OTLP)', join(path, key), 'access lines go to the log; traces go over OTLP'));
    else issues.push(unsupported(`frontendPolicies.accessLog.${key}`, join(path, key)));
  }
  return out;
}

/** The older spelling `config.logging.filter` / `config.logging.fields: { add, remove }`. */
export function mapLoggingFields(logging: Obj, path: string, issues: Issue[]): Obj | undefined {
  const out: Obj = {};
  if (logging.filter !== undefined) out.filter = logging.filter;
  if (isPlainObject(logging.fields)) {
    for (const [key, value] of Object.entries(logging.fields)) {
      if (key === 'add' || key === 'remove') out[key] = value;
      else issues.push(unsupported(`config.logging.fields.${key}`, join(join(path, 'fields'), key)));
    }
  } else if (logging.fields !== undefined) issues.push({ path: join(path, 'fields'), message: 'expected { add, remove }' });
  return Object.keys(out).length > 0 ? out : undefined;
}
