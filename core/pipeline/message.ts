import { RpcErrors, RpcFailure } from '../protocol/jsonrpc.ts';
import { messageChannel, policyChannel, type MessageEvent } from '../telemetry/index.ts';
import { takeDecisionInput } from './decision-input.ts';
import type { A2aMessage, A2aPolicyHooks, McpListItem, McpMessage, McpPolicyHooks, Phase, RequestContext } from './types.ts';

/**
 * The message pipeline: per-message processing for JSON-RPC protocols (MCP now, A2A next).
 *
 * One onion of `(message, next)` steps per route, composed at load in the same phase order as the HTTP chain
 * (authentication context, rate limit, filters, authorization, then the backend). The protocol backend builds a
 * `MessageContext` for every client request and runs it through `pipeline.run(message, backend)`:
 * - steps see the message as it will be forwarded: a step that rewrites params calls `message.update(params)`,
 *   which re-resolves the protocol's routing (tool name → owning target, normalized resource URI) before any later
 *   step decides on it;
 * - `backend` forwards the message and sets `message.result` (or, for list methods, `message.items`);
 * - on the way back, list items are filtered item by item by every step's `allowListItem`, in one place, and
 *   result steps may replace the result;
 * - errors are protocol errors (`RpcFailure`, JSON-RPC code and message), thrown by any step.
 */

/** One client-to-server protocol message on its way through the pipeline. */
export interface MessageContext extends McpMessage {
  /** The name of a registered message protocol (protocols.ts). */
  readonly protocol: string;
  /** The HTTP request that carried the message (identity, headers, route, logger). */
  readonly http: RequestContext;
  /** The session the message belongs to, when the protocol has sessions. */
  readonly sessionId?: string;
  /** JSON-RPC id of the client's request. */
  readonly rpcId?: string | number | null;
  /**
   * Replaces the params the message will be forwarded with, and re-resolves what derives from them (target, tool,
   * arguments, prompt, resource URI), so later steps decide on the message exactly as it will be forwarded.
   * Throws a `RpcFailure` when the new params name nothing the backend serves.
   */
  update(params: Record<string, unknown>): Promise<void>;
  /** The result, set by the backend; steps after `next()` may replace it. */
  result?: unknown;
  /** For list methods: the listed items, set by the backend and filtered by `allowListItem` on the way back. */
  items?: McpListItem[];
  /** For A2A messages (`protocol: 'a2a'`): what policies decide on. */
  a2a?: A2aMessage;
  /** Trace context to forward with the message (`params._meta` for MCP), set while someone traces messages. */
  traceMeta?: Readonly<Record<string, string>>;
  /** True for a streaming method: the pipeline (and its telemetry event) ends when the stream does. */
  readonly streaming?: boolean;
}

export type MessageNext = () => Promise<void>;

/** A message step: like an HTTP step, it runs around `next()`. */
export interface MessageStep {
  /** The policy it comes from, for events and logs. */
  readonly policy: string;
  readonly phase: Phase;
  run?(message: MessageContext, next: MessageNext): Promise<void>;
  /** Whether a listed item may be shown to the client (a caller never sees what it may not use). */
  allowListItem?(http: RequestContext, item: McpListItem): boolean | Promise<boolean>;
}

/** The composed pipeline of one route. */
export interface MessagePipeline {
  /** True when no step acts on messages: the backend may skip building what only steps would read. */
  readonly empty: boolean;
  run(message: MessageContext, backend: (message: MessageContext) => Promise<void>): Promise<void>;
  /**
   * Filters items outside a message (an A2A agent card's skills), with the same list-item rules as list results:
   * every step's `allowListItem` must allow an item, and an item a step fails on is hidden.
   */
  filterItems(http: RequestContext, items: McpListItem[]): Promise<McpListItem[]>;
}

/**
 * Adapts a policy's MCP hooks (request decision, list-item filter, result decision) to one message step. This is
 * how built-in policies and filters act on messages; a policy may also provide a `MessageStep` directly.
 */
export function stepFromHooks(policy: string, phase: Phase, hooks: McpPolicyHooks): MessageStep {
  const { onRequest, onResult, allowListItem } = hooks;
  const step: MessageStep = {
    policy,
    phase,
    allowListItem: allowListItem && ((http, item) => allowListItem.call(hooks, http, item)),
  };
  if (onRequest || onResult) {
    step.run = async (m, next) => {
      if (onRequest) {
        const d = await onRequest.call(hooks, m.http, snapshot(m));
        if (d.action === 'deny') {
          decided(m, policy, 'deny', d.message);
          if (d.asUnknown) throw unknownFailure(m) ?? new RpcFailure(d.code ?? RpcErrors.DENIED, d.message);
          throw new RpcFailure(d.code ?? RpcErrors.DENIED, d.message);
        }
        decided(m, policy, 'allow');
        if (d.params) await m.update(d.params);
      }
      await next();
      if (onResult && m.result !== undefined) {
        const d = await onResult.call(hooks, m.http, snapshot(m), m.result);
        if (d.action === 'deny') {
          decided(m, policy, 'deny', d.message);
          throw new RpcFailure(d.code ?? RpcErrors.DENIED, d.message);
        }
        if (d.result !== undefined) m.result = d.result;
      }
    };
  }
  return step;
}

/**
 * Adapts a policy's A2A hooks to one message step: `onRequest`/`onResult` on messages that carry `a2a`, and
 * `allowSkill` on list items of kind `skill` (an agent card's skills).
 */
export function stepFromA2aHooks(policy: string, phase: Phase, hooks: A2aPolicyHooks): MessageStep {
  const { onRequest, onResult, allowSkill } = hooks;
  const step: MessageStep = {
    policy,
    phase,
    allowListItem: allowSkill && ((http, item) => item.kind !== 'skill' || allowSkill.call(hooks, http, item.target, item.item)),
  };
  if (onRequest || onResult) {
    step.run = async (m, next) => {
      const a2a = m.a2a;
      if (!a2a) return next();
      if (onRequest) {
        const d = await onRequest.call(hooks, m.http, { ...a2a });
        if (d.action === 'deny') {
          decided(m, policy, 'deny', d.message);
          throw new RpcFailure(d.code ?? RpcErrors.DENIED, d.message);
        }
        decided(m, policy, 'allow');
        if (d.params) await m.update(d.params);
      }
      await next();
      if (onResult && m.result !== undefined) {
        const d = await onResult.call(hooks, m.http, { ...(m.a2a ?? a2a) }, m.result);
        if (d.action === 'deny') {
          decided(m, policy, 'deny', d.message);
          throw new RpcFailure(d.code ?? RpcErrors.DENIED, d.message);
        }
        if (d.result !== undefined) m.result = d.result;
      }
    };
  }
  return step;
}

/** What a hook sees: the message's fields as they stand now, not the live context. */
function snapshot(m: MessageContext): McpMessage {
  const msg: McpMessage = { method: m.method, params: m.params };
  if (m.target !== undefined) msg.target = m.target;
  if (m.tool !== undefined) msg.tool = m.tool;
  if (m.upstreamTool !== undefined) msg.upstreamTool = m.upstreamTool;
  if (m.arguments !== undefined) msg.arguments = m.arguments;
  if (m.prompt !== undefined) msg.prompt = m.prompt;
  if (m.resourceUri !== undefined) msg.resourceUri = m.resourceUri;
  if (m.protocolVersion !== undefined) msg.protocolVersion = m.protocolVersion;
  return msg;
}

/** The error a client gets for something that does not exist, so that a denial looks the same. */
function unknownFailure(m: MessageContext): RpcFailure | undefined {
  if (m.tool !== undefined) return new RpcFailure(RpcErrors.INVALID_PARAMS, `Unknown tool: ${m.tool}`);
  if (m.prompt !== undefined) return new RpcFailure(RpcErrors.INVALID_PARAMS, `Unknown prompt: ${m.prompt}`);
  if (m.resourceUri !== undefined) return new RpcFailure(RpcErrors.INVALID_PARAMS, `Unknown resource: ${m.resourceUri}`);
  return undefined;
}

function decided(m: MessageContext, policy: string, outcome: 'allow' | 'deny', reason?: string): void {
  if (!policyChannel.hasSubscribers) return;
  const input = takeDecisionInput(m.http);
  policyChannel.publish({ requestId: m.http.id, route: m.http.routeName, policy, level: 'message', outcome, reason, method: m.method, subject: m.http.identity?.subject, tool: m.tool ?? m.a2a?.skill, ...(m.upstreamTool !== undefined ? { upstreamTool: m.upstreamTool } : {}), prompt: m.prompt, resourceUri: m.resourceUri, target: m.target, ...(input !== undefined ? { input } : {}) });
}

/** Composes the message steps of one route (already in phase order) into its pipeline. */
export function composeMessagePipeline(steps: readonly MessageStep[]): MessagePipeline {
  const runners = steps.filter((s) => s.run).map((s) => s.run!.bind(s));
  const filters = steps.filter((s) => s.allowListItem);

  async function allowedItems(http: RequestContext, items: McpListItem[]): Promise<McpListItem[]> {
    if (filters.length === 0) return items;
    const allowed: McpListItem[] = [];
    for (const item of items) {
      let ok = true;
      for (const f of filters) {
        let verdict: boolean;
        try {
          verdict = await f.allowListItem!(http, item);
        } catch (err) {
          // Fail closed: an item a policy could not decide on is not shown.
          http.log.error({ err, route: http.routeName, policy: f.policy }, 'a policy failed while filtering a list: item hidden');
          verdict = false;
        }
        if (!verdict) {
          ok = false;
          break;
        }
      }
      if (ok) allowed.push(item);
    }
    return allowed;
  }

  async function filterItems(m: MessageContext): Promise<void> {
    if (m.items) m.items = await allowedItems(m.http, m.items);
  }

  async function runSteps(m: MessageContext, backend: (m: MessageContext) => Promise<void>): Promise<void> {
    // A route without message policies (the common case): the backend alone, with no dispatch closure per message.
    if (runners.length === 0) {
      await backend(m);
      if (m.items) await filterItems(m);
      return;
    }
    let index = -1;
    const dispatch = async (i: number): Promise<void> => {
      if (i <= index) throw new Error('next() called more than once in one message step');
      index = i;
      if (i === runners.length) {
        await backend(m);
        await filterItems(m);
        return;
      }
      await runners[i](m, () => dispatch(i + 1));
    };
    await dispatch(0);
  }

  return {
    empty: steps.length === 0,
    filterItems: allowedItems,
    run(m, backend) {
      if (!messageChannel.hasSubscribers) return runSteps(m, backend);
      const event: MessageEvent = { requestId: m.http.id, protocol: m.protocol, route: m.http.routeName, method: m.method, rpcId: m.rpcId, sessionId: m.sessionId, subject: m.http.identity?.subject };
      if (m.tool !== undefined) event.tool = m.tool;
      if (m.target !== undefined) event.target = m.target;
      if (m.protocolVersion !== undefined) event.protocolVersion = m.protocolVersion;
      return messageChannel.tracePromise(async () => {
        if (event.propagation) m.traceMeta = event.propagation;
        try {
          await runSteps(m, backend);
          event.outcome = 'ok';
          // tracePromise sets `event.result` to what this function returns: return the result itself.
          return (event.result = m.items ?? m.result);
        } catch (err) {
          event.outcome = 'error';
          if (err instanceof RpcFailure) event.rpcErrorCode = err.code;
          event.errorMessage = (err as Error).message;
          throw err;
        } finally {
          if (m.target !== undefined) event.target = m.target;
          if (m.tool !== undefined) event.tool = m.tool;
          if (m.upstreamTool !== undefined) event.upstreamTool = m.upstreamTool;
          if (m.prompt !== undefined) event.prompt = m.prompt;
          if (m.resourceUri !== undefined) event.resourceUri = m.resourceUri;
          if (m.arguments !== undefined) event.arguments = m.arguments;
          if (m.a2a) {
            if (m.a2a.skill !== undefined) event.skill = m.a2a.skill;
            if (m.a2a.taskId !== undefined) event.taskId = m.a2a.taskId;
            if (m.a2a.contextId !== undefined) event.contextId = m.a2a.contextId;
          }
          if (m.streaming) event.streaming = true;
        }
      }, event) as Promise<void>;
    },
  };
}
