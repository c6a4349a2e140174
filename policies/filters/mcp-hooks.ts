import { checkMcpRequestDecision, type LoadedFilter, type McpRequestDecision } from '../../core/filters/index.ts';
import type { McpMessage, McpPolicyHooks, RequestContext } from '../../core/pipeline/index.ts';
import { baseInput, failure, logTags, requestHead, runResultFilters } from './http-step.ts';

function messageInput(msg: McpMessage, params: Record<string, unknown> | undefined): Record<string, unknown> {
  return {
    method: msg.method,
    params,
    target: msg.target,
    tool: msg.tool,
    upstreamTool: msg.upstreamTool,
    arguments: msg.method === 'tools/call' ? ((params?.arguments as Record<string, unknown> | undefined) ?? msg.arguments) : msg.arguments,
    prompt: msg.prompt,
    resourceUri: msg.resourceUri,
  };
}

/**
 * The MCP side of a filter list: `onMcpRequest` in list order for every JSON-RPC request, `onMcpResponse` in
 * reverse order for every result. Each filter sees the previous one's changes; a failing filter denies the
 * message (failClosed) or is skipped (failOpen).
 */
export function createFilterMcpHooks(filters: readonly LoadedFilter[]): McpPolicyHooks | undefined {
  const onRequest = filters.filter((f) => f.has('onMcpRequest'));
  const onResult = filters.filter((f) => f.has('onMcpResponse')).reverse();
  if (onRequest.length === 0 && onResult.length === 0) return undefined;
  const hooks: McpPolicyHooks = {};
  if (onRequest.length > 0) {
    hooks.onRequest = async (ctx: RequestContext, msg: McpMessage) => {
      let params = msg.params;
      let changed = false;
      const request = requestHead(ctx);
      for (const filter of onRequest) {
        let decision: McpRequestDecision;
        try {
          const input = { ...baseInput(ctx, request), mcp: messageInput(msg, params) };
          decision = checkMcpRequestDecision(await filter.run('onMcpRequest', input, ctx.log, logTags(ctx)), filter.name, 'onMcpRequest');
        } catch (err) {
          const e = failure(err, filter, ctx, 'onMcpRequest');
          if (filter.failOpen) continue;
          return { action: 'deny', message: `${e.code}: ${e.message}` };
        }
        if (decision.action === 'deny') return { action: 'deny', message: decision.message, code: decision.code };
        if (decision.params) {
          params = decision.params;
          changed = true;
        }
        if (decision.arguments) {
          params = { ...params, arguments: decision.arguments };
          changed = true;
        }
      }
      return changed ? { action: 'continue', params } : { action: 'continue' };
    };
  }
  if (onResult.length > 0) {
    hooks.onResult = (ctx: RequestContext, msg: McpMessage, result: unknown) =>
      runResultFilters(onResult, 'onMcpResponse', ctx, result, (base, current) => ({ ...base, mcp: messageInput(msg, msg.params), result: current }));
  }
  return hooks;
}
