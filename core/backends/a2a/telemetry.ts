import type { ProtocolTelemetry } from '../../telemetry/index.ts';
import { KNOWN_METHODS } from './methods.ts';

/**
 * What traces and metrics add for A2A messages: the skill, task and context a message names, and a series by
 * method and skill. Its access-log line has the generic fields. Registered by the composition root
 * (core/gateway/backends.ts).
 */
export const a2aTelemetry: ProtocolTelemetry = {
  name: 'a2a',
  // An A2A message's session id is its context (no header names it for the request).
  session: { attribute: 'portcullis.a2a.context_id' },
  endSpan(e, attributes) {
    attributes['gen_ai.operation.name'] = 'invoke_agent';
    if (e.skill) attributes['portcullis.a2a.skill'] = e.skill;
    if (e.taskId) attributes['portcullis.a2a.task_id'] = e.taskId;
    if (e.contextId) attributes['portcullis.a2a.context_id'] = e.contextId;
  },
  // `tools/call` too, as the MCP descriptor: an A2A message of that name is a tool observation as well.
  langfuse: { isTool: (e) => e.method === 'tools/call' || e.method.startsWith('message/'), tag: 'skill' },
  metrics: {
    counter: { name: 'portcullis_a2a_messages_total', help: 'A2A requests through the message pipeline.' },
    labelNames: ['route', 'method', 'skill', 'outcome'],
    methods: KNOWN_METHODS,
    values: (e, { route, method, outcome, fold }) => [route, method, fold.tool.value(e.skill), outcome],
  },
};
