import type { McpAuthorizationPolicy } from '../../sdk-types/cel-rules.ts';
import { s } from '../../core/config/index.ts';
import type { McpDecision, PolicyDefinition } from '../../core/pipeline/index.ts';
import { celRulesSchema, compileRuleSet, mcpListItemResource, mcpResourceOf, ruleSetAllows, withMcp } from './cel.ts';

/** Methods that name one tool, prompt or resource: a denial answers as if it did not exist (as with Rego). */
const NAMED_METHODS = new Set(['tools/call', 'prompts/get', 'resources/read', 'resources/subscribe', 'resources/unsubscribe']);

/**
 * agentgateway's `mcpAuthorization`: CEL rules over `mcp.tool`, `mcp.prompt` and `mcp.resource` (with `jwt`,
 * `apiKey`, `request`, `source`). A call the rules deny is answered exactly as an unknown tool, prompt or resource,
 * and list results are filtered item by item with the same rules, so a caller never sees what it may not use.
 * Messages that name none of the three (initialize, lists themselves, ping) are not decided here.
 */
export const mcpAuthorization: PolicyDefinition<McpAuthorizationPolicy> = {
  name: 'mcpAuthorization',
  phase: 'authorization',
  requires: ['mcp'],
  schema: s.object({ rules: celRulesSchema }, { required: ['rules'] }),
  create(config, build) {
    const rules = compileRuleSet(config.rules, `${build.path}.rules`);
    return {
      step: (_ctx, next) => next(),
      mcp: {
        onRequest(ctx, msg): McpDecision {
          const mcp = mcpResourceOf(msg);
          if (!mcp || ruleSetAllows(rules, withMcp(ctx, mcp))) return { action: 'continue' };
          ctx.log.debug({ route: ctx.routeName, subject: ctx.identity?.subject, method: msg.method, tool: msg.tool }, 'mcpAuthorization denied an MCP message');
          if (NAMED_METHODS.has(msg.method)) return { action: 'deny', message: 'forbidden', asUnknown: true };
          return { action: 'deny', message: `forbidden: ${msg.method}` };
        },
        allowListItem(ctx, item) {
          const mcp = mcpListItemResource(item);
          return !mcp || ruleSetAllows(rules, withMcp(ctx, mcp));
        },
      },
    };
  },
};
