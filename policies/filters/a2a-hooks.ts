import { checkA2aRequestDecision, type A2aRequestDecision, type LoadedFilter } from '../../core/filters/index.ts';
import type { A2aMessage, A2aPolicyHooks, RequestContext } from '../../core/pipeline/index.ts';
import { baseInput, failure, logTags, requestHead, runResultFilters } from './http-step.ts';

function messageInput(msg: A2aMessage, params: Record<string, unknown> | undefined): Record<string, unknown> {
  return { method: msg.method, agent: msg.agent, skill: msg.skill, taskId: msg.taskId, contextId: msg.contextId, parts: msg.parts, params };
}

/**
 * The A2A side of a filter list: `onA2aRequest` in list order for every A2A message, `onA2aResponse` in reverse
 * order for every non-streaming result. Each filter sees the previous one's changes; a failing filter denies the
 * message (failClosed) or is skipped (failOpen).
 */
export function createFilterA2aHooks(filters: readonly LoadedFilter[]): A2aPolicyHooks | undefined {
  const onRequest = filters.filter((f) => f.has('onA2aRequest'));
  const onResult = filters.filter((f) => f.has('onA2aResponse')).reverse();
  if (onRequest.length === 0 && onResult.length === 0) return undefined;
  const hooks: A2aPolicyHooks = {};
  if (onRequest.length > 0) {
    hooks.onRequest = async (ctx: RequestContext, msg: A2aMessage) => {
      let params = msg.params;
      let changed = false;
      const request = requestHead(ctx);
      for (const filter of onRequest) {
        let decision: A2aRequestDecision;
        try {
          const input = { ...baseInput(ctx, request), a2a: messageInput(msg, params) };
          decision = checkA2aRequestDecision(await filter.run('onA2aRequest', input, ctx.log, logTags(ctx)), filter.name, 'onA2aRequest');
        } catch (err) {
          const e = failure(err, filter, ctx, 'onA2aRequest');
          if (filter.failOpen) continue;
          return { action: 'deny', message: `${e.code}: ${e.message}` };
        }
        if (decision.action === 'deny') return { action: 'deny', message: decision.message, code: decision.code };
        if (decision.params) {
          params = decision.params;
          changed = true;
        }
      }
      return changed ? { action: 'continue', params } : { action: 'continue' };
    };
  }
  if (onResult.length > 0) {
    hooks.onResult = (ctx: RequestContext, msg: A2aMessage, result: unknown) =>
      runResultFilters(onResult, 'onA2aResponse', ctx, result, (base, current) => ({ ...base, a2a: messageInput(msg, msg.params), result: current }));
  }
  return hooks;
}
