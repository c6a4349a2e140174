/**
 * The filter-author test harness, published as `portcullis/testing`: runs a filter file against synthetic
 * requests, responses and MCP messages without a gateway, with the same bundling, sandbox, limits and decision
 * checks. It lives in core (it starts a sandbox process); its types are in `sdk-types/filter.ts`. The sandbox process
 * ends when the last harness is closed.
 *
 * @example
 * import { testFilter } from 'portcullis/testing';
 * const f = await testFilter('./filters/tenant.ts', { config: { tenant: 'acme' } });
 * const { decision } = await f.request({ headers: { 'x-tenant': 'other' } });
 */
import type {
  FilterA2aMessage,
  FilterHarness,
  FilterMcpMessage,
  FilterTestOptions,
  FilterTestResult,
  JsonValue,
  SyntheticRequest,
  SyntheticResponse,
} from '../../sdk-types/filter.ts';
import { checkA2aRequestDecision, checkA2aResponseDecision, checkHttpDecision, checkMcpRequestDecision, checkMcpResponseDecision } from './decision.ts';
import { loadFilter, type FilterHook, type LoadedFilter } from './load.ts';

type Logs = FilterTestResult<unknown>['logs'];

function requestOf(r: SyntheticRequest = {}): Record<string, unknown> {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.headers ?? {})) headers[k.toLowerCase()] = v;
  return {
    route: r.route ?? 'test-route',
    listener: r.listener ?? 'test-listener',
    requestId: 'test-request',
    identity: r.identity,
    request: { method: (r.method ?? 'GET').toUpperCase(), path: r.path ?? '/', query: r.query ?? {}, headers, ...(r.body === undefined ? {} : { body: r.body }) },
  };
}

/** Loads a filter file (relative paths from the working directory) into its sandbox. Close it when done. */
export async function testFilter<C = Record<string, JsonValue>>(file: string, options: FilterTestOptions<C> = {}): Promise<FilterHarness> {
  const filter: LoadedFilter = await loadFilter(
    { file, config: (options.config ?? {}) as Record<string, JsonValue>, timeoutMs: options.timeoutMs, memoryLimitMb: options.memoryLimitMb, maxResultBytes: options.maxResultBytes, typeCheck: options.typeCheck },
    process.cwd(),
    'testFilter',
  );
  const run = async (hook: FilterHook, input: unknown): Promise<{ value: unknown; logs: Logs }> => {
    const logs: Logs = [];
    const sink = { info: (obj: { fields?: Record<string, JsonValue> }, message: string) => logs.push({ message, fields: obj.fields }) };
    const value = await filter.run(hook, input, sink as never);
    return { value, logs };
  };
  // The harness answers the way the gateway would: a decision in its checked, plain form.
  const http = (value: unknown, hook: string) => {
    const d = checkHttpDecision(value, filter.name, hook);
    if (d.action === 'respond') return { action: 'respond' as const, status: d.status, headers: Object.fromEntries(d.headers), body: d.body.value as JsonValue };
    return {
      action: 'continue' as const,
      ...(d.set.length || d.remove.length ? { headers: { set: Object.fromEntries(d.set), remove: d.remove } } : {}),
      ...(d.body ? { body: d.body.value as JsonValue } : {}),
    };
  };
  return {
    name: filter.name,
    hooks: [...filter.sandbox.hooks],
    async request(request) {
      const { value, logs } = await run('onRequest', requestOf(request));
      return { decision: http(value, 'onRequest'), logs };
    },
    async response(response: SyntheticResponse = {}, request) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      for (const [k, v] of Object.entries(response.headers ?? {})) headers[k.toLowerCase()] = v;
      const res = { status: response.status ?? 200, headers, ...(response.body === undefined ? {} : { body: response.body }) };
      const { value, logs } = await run('onResponse', { ...requestOf(request), response: res });
      return { decision: http(value, 'onResponse'), logs };
    },
    async mcpRequest(message: FilterMcpMessage, request) {
      const { value, logs } = await run('onMcpRequest', { ...requestOf(request), mcp: message });
      return { decision: checkMcpRequestDecision(value, filter.name, 'onMcpRequest') as FilterTestResult<never>['decision'], logs };
    },
    async mcpResponse(message: FilterMcpMessage, result: JsonValue, request) {
      const { value, logs } = await run('onMcpResponse', { ...requestOf(request), mcp: message, result });
      const d = checkMcpResponseDecision(value, filter.name, 'onMcpResponse');
      const decision = d.action === 'continue' ? { action: 'continue' as const, ...(d.result ? { result: d.result.value as JsonValue } : {}) } : d;
      return { decision, logs };
    },
    async a2aRequest(message: FilterA2aMessage, request) {
      const { value, logs } = await run('onA2aRequest', { ...requestOf(request), a2a: message });
      return { decision: checkA2aRequestDecision(value, filter.name, 'onA2aRequest') as FilterTestResult<never>['decision'], logs };
    },
    async a2aResponse(message: FilterA2aMessage, result: JsonValue, request) {
      const { value, logs } = await run('onA2aResponse', { ...requestOf(request), a2a: message, result });
      const d = checkA2aResponseDecision(value, filter.name, 'onA2aResponse');
      const decision = d.action === 'continue' ? { action: 'continue' as const, ...(d.result ? { result: d.result.value as JsonValue } : {}) } : d;
      return { decision, logs };
    },
    close: () => filter.close(),
  };
}
