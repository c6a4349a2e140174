import type { ProtocolTelemetry } from '../../telemetry/index.ts';

/** Every method of the MCP specification (2025-06-18), client and server side: the `method` label's values. */
export const MCP_METHODS: readonly string[] = [
  'initialize',
  'ping',
  'tools/list',
  'tools/call',
  'prompts/list',
  'prompts/get',
  'resources/list',
  'resources/templates/list',
  'resources/read',
  'resources/subscribe',
  'resources/unsubscribe',
  'completion/complete',
  'logging/setLevel',
  'sampling/createMessage',
  'elicitation/create',
  'roots/list',
];

/**
 * What traces, metrics and the access log add for MCP messages. Names follow the OpenTelemetry MCP conventions
 * (`mcp.method.name`, `mcp.session.id`, `mcp.protocol.version`, `gen_ai.operation.name`), so a line, a span and a
 * series of one message join on them. Registered by the composition root (core/gateway/backends.ts).
 */
export const mcpTelemetry: ProtocolTelemetry = {
  name: 'mcp',
  // The session the `mcp-session-id` header names is the request's too (the request span carries it).
  session: { attribute: 'mcp.session.id', header: 'mcp-session-id' },
  startSpan(e, attributes) {
    attributes['mcp.method.name'] = e.method;
    if (e.protocolVersion) attributes['mcp.protocol.version'] = e.protocolVersion;
    else attributes['rpc.method'] = e.method;
  },
  endSpan(e, attributes) {
    if (e.upstreamTool) attributes['portcullis.mcp.upstream_tool'] = e.upstreamTool;
    if (e.resourceUri) attributes['mcp.resource.uri'] = e.resourceUri;
    if (e.method === 'tools/call') attributes['gen_ai.operation.name'] = 'execute_tool';
  },
  langfuse: { isTool: (e) => e.method === 'tools/call', tag: 'tool' },
  metrics: {
    counter: { name: 'portcullis_mcp_messages_total', help: 'MCP requests through the message pipeline; tool is the tool, prompt or "resource".' },
    histogram: { name: 'portcullis_mcp_message_duration_seconds', help: 'Time an MCP request spent in the gateway and its target.' },
    labelNames: ['route', 'method', 'target', 'tool', 'upstream_tool', 'outcome'],
    methods: MCP_METHODS,
    values(e, { route, method, outcome, fold }) {
      const target = fold.target.value(e.target);
      const tool = fold.tool.value(e.tool ?? e.prompt ?? (e.resourceUri !== undefined ? 'resource' : undefined));
      // The tool as its target knows it: "" when the same as `tool` or none, so that series only split on renames.
      const upstreamTool = e.upstreamTool !== undefined && e.upstreamTool !== e.tool ? fold.tool.value(e.upstreamTool) : '';
      return [route, method, target, tool, upstreamTool, outcome];
    },
  },
  accessLogFields: (m) => ({
    'mcp.method.name': m.method,
    'gen_ai.tool.name': m.tool,
    // The tool as its target knows it (before the route's prefix and renames).
    'portcullis.mcp.upstream_tool': m.upstreamTool,
    'mcp.session.id': m.sessionId,
    'mcp.protocol.version': m.protocolVersion,
  }),
  // agentgateway's `mcp` variable: the method, the session, and what the message names with its target apart.
  accessLogVariables(m) {
    const mcp: Record<string, unknown> = { methodName: m.method };
    if (m.sessionId) mcp.sessionId = m.sessionId;
    const target = m.target ?? '';
    const bare = (name: string) => (target && name.startsWith(`${target}_`) ? name.slice(target.length + 1) : name);
    if (m.tool) mcp.tool = { target, name: bare(m.tool) };
    if (m.prompt) mcp.prompt = { target, name: bare(m.prompt) };
    if (m.resourceUri) mcp.resource = { target, name: m.resourceUri };
    return { mcp };
  },
};
