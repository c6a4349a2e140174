import { isPlainObject, join, type Issue } from '../schema/index.ts';
import { durationIssue, parseDuration, unsupported } from './agentgateway-common.ts';
import { mapA2aRoute, mapPolicyBlock } from './agentgateway-policies.ts';
import { mapAccessLog, mapConfigTracing, mapFrontendTracing, mapLoggingFields } from './agentgateway-telemetry.ts';

export { parseDuration } from './agentgateway-common.ts';

/**
 * Reads agentgateway's local-config spellings into Portcullis' model. The two share binds → listeners → routes →
 * backends → policies; what differs is agentgateway's top-level `config` and `frontendPolicies` blocks, its
 * duration strings (`requestTimeout: 10s`, which become our `...Ms` numbers), and the shapes of some policies
 * (see agentgateway-policies.ts). A feature Portcullis does not have is removed and reported in `issues`
 * ("agentgateway feature `extAuthz` is not supported by Portcullis") with its path, so the user sees all of them
 * together with the validation errors; everything else passes unchanged to validation.
 */
export function fromAgentgateway(raw: unknown, issues: Issue[] = []): unknown {
  if (!isPlainObject(raw)) return raw;
  const out: Record<string, unknown> = { ...raw };
  if (isPlainObject(raw.config)) {
    const { adminAddr, readinessAddr, statsAddr, tracing, logging, backend, connectionTerminationDeadline, ...rest } = raw.config;
    delete out.config;
    if (adminAddr !== undefined) out.admin = { address: adminAddr };
    if (readinessAddr !== undefined) out.readiness = { address: readinessAddr };
    if (statsAddr !== undefined) out.stats = { address: statsAddr };
    if (isPlainObject(tracing)) {
      const mapped = mapConfigTracing(tracing, 'config.tracing', issues);
      if (mapped) out.tracing = mapped;
    }
    if (isPlainObject(logging)) out.logging = mapLogging(logging, 'config.logging', issues);
    if (isPlainObject(backend)) out.upstream = mapBackendSettings(backend, 'config.backend', issues);
    if (connectionTerminationDeadline !== undefined) {
      const ms = parseDuration(connectionTerminationDeadline);
      if (ms === undefined) issues.push(durationIssue('config.connectionTerminationDeadline', connectionTerminationDeadline));
      else out.shutdown = { drainTimeoutMs: ms };
    }
    // Keys we do not serve stay visible to validation under their agentgateway path.
    for (const key of Object.keys(rest)) {
      if (rest[key] !== undefined) issues.push(unsupported(`config.${key}`, `config.${key}`));
    }
  }
  if (isPlainObject(raw.frontendPolicies)) {
    delete out.frontendPolicies;
    mapFrontendPolicies(raw.frontendPolicies, out, issues);
  }
  // agentgateway's short form for one MCP server: `mcp: { port, policies, targets, ... }` is one bind with one
  // route whose backend multiplexes those targets.
  if (isPlainObject(out.mcp) && out.binds === undefined) {
    const { port, policies, ...backend } = out.mcp;
    out.binds = [{ port: port ?? 3000, listeners: [{ routes: [{ ...(policies === undefined ? {} : { policies }), backends: [{ mcp: backend }] }] }] }];
    delete out.mcp;
  }
  for (const key of ['policies', 'backends', 'workloads', 'services', 'llm', 'mcp']) {
    if (out[key] === undefined) continue;
    const hint = key === 'policies' || key === 'backends' ? 'put policies and backends inline on listeners and routes' : '';
    issues.push(unsupported(key === 'policies' || key === 'backends' ? `top-level ${key}` : key, key, hint));
    delete out[key];
  }
  if (Array.isArray(out.binds)) out.binds = out.binds.map((bind, b) => mapBind(bind, `binds[${b}]`, issues));
  return msDurations(out, '', issues);
}

function mapLogging(logging: Record<string, unknown>, path: string, issues: Issue[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(logging)) {
    if (key === 'level') out.level = value;
    // agentgateway's `text` is the human-readable form, our `pretty`.
    else if (key === 'format') out.format = value === 'text' ? 'pretty' : value;
    else if (key !== 'filter' && key !== 'fields') issues.push(unsupported(`config.logging.${key}`, join(path, key)));
  }
  const shape = mapLoggingFields(logging, path, issues);
  if (shape) out.accessLog = shape;
  return out;
}

function mapBackendSettings(backend: Record<string, unknown>, path: string, issues: Issue[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const names: Record<string, string> = { connectTimeout: 'connectTimeoutMs', poolIdleTimeout: 'keepAliveTimeoutMs' };
  for (const [key, value] of Object.entries(backend)) {
    const ours = names[key];
    if (!ours) {
      issues.push(unsupported(`config.backend.${key}`, join(path, key)));
      continue;
    }
    const ms = parseDuration(value);
    if (ms === undefined) issues.push(durationIssue(join(path, key), value));
    else out[ours] = ms;
  }
  return out;
}

/** `frontendPolicies.http.maxBufferSize` is our request body limit, `http1IdleTimeout` our idle timeout; the rest has no counterpart. */
function mapFrontendPolicies(block: Record<string, unknown>, out: Record<string, unknown>, issues: Issue[]): void {
  for (const [key, value] of Object.entries(block)) {
    const path = `frontendPolicies.${key}`;
    if (key === 'tracing' && isPlainObject(value)) {
      if (out.tracing !== undefined) issues.push({ path, message: 'config.tracing is set too: give the collector in one of them' });
      const mapped = mapFrontendTracing(value, path, issues);
      if (mapped) out.tracing = mapped;
    } else if (key === 'accessLog' && isPlainObject(value)) {
      const logging = isPlainObject(out.logging) ? out.logging : {};
      // As agentgateway: the older config.logging.filter/fields and this policy do not go together.
      if (logging.accessLog !== undefined) issues.push({ path, message: 'cannot use config.logging.filter/fields together with frontendPolicies.accessLog' });
      out.logging = { ...logging, accessLog: mapAccessLog(value, path, issues) };
    } else if (key === 'http' && isPlainObject(value)) {
      for (const [k, v] of Object.entries(value)) {
        if (k === 'maxBufferSize') out.limits = { ...(isPlainObject(out.limits) ? out.limits : {}), maxRequestBodyBytes: v };
        else if (k === 'http1IdleTimeout') {
          // An idle keep-alive connection's lifetime: our limits.idleTimeoutMs.
          const ms = parseDuration(v);
          if (ms === undefined) issues.push(durationIssue(join(join(path, 'http'), k), v));
          else out.limits = { ...(isPlainObject(out.limits) ? out.limits : {}), idleTimeoutMs: ms };
        } else issues.push(unsupported(`frontendPolicies.http.${k}`, join(path, k)));
      }
    } else issues.push(unsupported(path, path));
  }
}

function mapBind(bind: unknown, path: string, issues: Issue[]): unknown {
  if (!isPlainObject(bind)) return bind;
  const out: Record<string, unknown> = { ...bind };
  // agentgateway's binds default to port 3000 (its examples leave it out).
  out.port ??= 3000;
  if (out.tunnelProtocol !== undefined) {
    issues.push(unsupported('tunnelProtocol', join(path, 'tunnelProtocol')));
    delete out.tunnelProtocol;
  }
  if (Array.isArray(out.listeners)) out.listeners = out.listeners.map((l, i) => mapListener(l, join(join(path, 'listeners'), i), issues));
  return out;
}

function mapListener(listener: unknown, path: string, issues: Issue[]): unknown {
  if (!isPlainObject(listener)) return listener;
  const out: Record<string, unknown> = { ...listener };
  if (typeof out.protocol === 'string' && !['HTTP', 'HTTPS'].includes(out.protocol)) {
    issues.push(unsupported(`listener protocol ${out.protocol}`, join(path, 'protocol'), 'HTTP and HTTPS listeners are served'));
    delete out.protocol;
  }
  if (out.tcpRoutes !== undefined) {
    issues.push(unsupported('tcpRoutes', join(path, 'tcpRoutes')));
    delete out.tcpRoutes;
  }
  if (isPlainObject(out.policies)) out.policies = mapPolicyBlock(out.policies, join(path, 'policies'), issues);
  out.routes ??= [];
  if (Array.isArray(out.routes)) out.routes = out.routes.map((r, i) => mapRoute(r, join(join(path, 'routes'), i), issues));
  return out;
}

function mapRoute(route: unknown, path: string, issues: Issue[]): unknown {
  if (!isPlainObject(route)) return route;
  const out: Record<string, unknown> = mapA2aRoute({ ...route });
  // A Gateway API rule name: it names the route in agentgateway's telemetry, which has no counterpart here.
  delete out.ruleName;
  if (isPlainObject(out.policies)) out.policies = mapPolicyBlock(out.policies, join(path, 'policies'), issues);
  // The policies of a route's only backend apply to everything the route sends: they are the route's (unless the
  // route has its own of the same name).
  if (Array.isArray(out.backends) && out.backends.length === 1 && isPlainObject(out.backends[0]) && isPlainObject(out.backends[0].policies)) {
    const backendPath = join(join(path, 'backends'), 0);
    const own = isPlainObject(out.policies) ? out.policies : {};
    const lifted = out.backends[0].policies;
    if (Object.keys(lifted).every((name) => own[name] === undefined)) {
      out.policies = { ...own, ...mapPolicyBlock(lifted, join(backendPath, 'policies'), issues) };
      const { policies: _lifted, ...backend } = out.backends[0];
      out.backends = [backend];
    }
  }
  if (Array.isArray(out.backends)) out.backends = out.backends.map((b, i) => mapBackend(b, join(join(path, 'backends'), i), issues));
  return out;
}

const UNSUPPORTED_BACKENDS: Record<string, string> = {
  ai: 'LLM providers are not proxied',
  service: 'give the address as `host: "host:port"`',
  dynamic: '',
  backend: 'top-level backends are not supported: put the backend inline',
  aws: '',
};

function mapBackend(backend: unknown, path: string, issues: Issue[]): unknown {
  if (!isPlainObject(backend)) return backend;
  const out: Record<string, unknown> = { ...backend };
  for (const key of Object.keys(UNSUPPORTED_BACKENDS)) {
    if (out[key] === undefined) continue;
    issues.push(unsupported(`${key} backends`, join(path, key), UNSUPPORTED_BACKENDS[key]));
    delete out[key];
  }
  if (out.policies !== undefined) {
    issues.push(unsupported('backend policies', join(path, 'policies'), 'put the policies on the route'));
    delete out.policies;
  }
  if (isPlainObject(out.mcp) && Array.isArray(out.mcp.targets)) {
    const mcpPath = join(path, 'mcp');
    out.mcp = { ...out.mcp, targets: out.mcp.targets.map((t, i) => mapTarget(t, join(join(mcpPath, 'targets'), i))) };
  }
  return out;
}

/** agentgateway accepts a URL in `host` for remote MCP targets (`host: http://localhost:3001/mcp`): that is our `url`. */
function mapTarget(target: unknown, _path: string): unknown {
  if (!isPlainObject(target)) return target;
  const out: Record<string, unknown> = { ...target };
  // agentgateway starts stdio servers in its own working directory (so `npx` finds the project's packages).
  if (isPlainObject(out.stdio) && out.stdio.cwd === undefined) out.stdio = { ...out.stdio, cwd: process.cwd() };
  for (const kind of ['mcp', 'sse']) {
    const remote = out[kind];
    if (!isPlainObject(remote) || typeof remote.host !== 'string' || !/^https?:\/\//i.test(remote.host)) continue;
    const { host, port, path, ...rest } = remote;
    const url = new URL(host as string);
    if (typeof port === 'number') url.port = String(port);
    if (typeof path === 'string') url.pathname = path;
    out[kind] = { url: url.href, ...rest };
  }
  return out;
}

const OPAQUE = new Set(['config', 'metadata', 'headers', 'env', 'claims', 'add']);

/** Our own `...Ms` settings written as duration strings (`sessionIdleTimeoutMs: 10m`) are read too. */
function msDurations(value: unknown, path: string, issues: Issue[]): Record<string, unknown> {
  const walk = (v: unknown, p: string): unknown => {
    if (Array.isArray(v)) return v.map((item, i) => walk(item, join(p, i)));
    if (!isPlainObject(v)) return v;
    const out: Record<string, unknown> = {};
    for (const [k, child] of Object.entries(v)) {
      if (k.endsWith('Ms') && typeof child === 'string') {
        const ms = parseDuration(child);
        if (ms === undefined) issues.push(durationIssue(join(p, k), child));
        else out[k] = ms;
        continue;
      }
      // User data (a filter's own config, key metadata, headers, environment) is passed as written.
      out[k] = OPAQUE.has(k) ? child : walk(child, join(p, k));
    }
    return out;
  };
  return walk(value, path) as Record<string, unknown>;
}
