/**
 * CEL authorization rules, as agentgateway writes them. A rule is a CEL expression: a plain string is an allow
 * rule; `{ deny: ... }` denies when it matches; `{ require: ... }` must match. Any matching deny denies, then every
 * require must match, then any matching allow allows; with no allow rule, what is not denied is allowed. An
 * expression that cannot be evaluated (a claim that is absent) does not match.
 *
 * Variables: `request` (`method`, `path`, `pathAndQuery`, `host`, `scheme`, `uri`, `headers` without
 * credentials), `source` (`address`), `jwt` (the verified claims), `apiKey` (`key`: the key's name, its
 * `roles` and metadata), `backend` (`name`), and in `mcpAuthorization` `mcp` (`mcp.tool.name`,
 * `mcp.tool.target`, `mcp.prompt.name`, `mcp.resource.name`; names as the target knows them, without the
 * multiplexing prefix).
 * @example 'mcp.tool.name == "echo" && jwt.sub == "test-user"'
 * @example { deny: 'mcp.tool.name == "printEnv"' }
 */
export type CelRule = string | { allow: string } | { deny: string } | { require: string };

/**
 * MCP authorization in CEL (agentgateway's `mcpAuthorization`): decides every call of a tool, prompt or resource
 * (a denied one is answered as unknown) and filters `tools/list`, `prompts/list` and `resources/list` item by item.
 * Other MCP messages are not decided by it. Beside an `authorization` policy, both must allow.
 * @example { rules: ['mcp.tool.name == "echo"', 'jwt.sub == "test-user" && mcp.tool.name == "add"'] }
 */
export interface McpAuthorizationPolicy {
  /** The rules, compiled once when the config loads (a rule that does not compile is a config error with its path). */
  rules: CelRule[];
}

/**
 * agentgateway's `requestMirror`: a copy of body-less requests (a `percentage` of them) is sent to another backend
 * and its answer dropped; the real request never waits for it or sees its failure.
 * @example { backend: '127.0.0.1:9100', percentage: 10 }
 */
export interface RequestMirrorPolicy {
  /** `host:port` of the mirror (agentgateway's `backend: { host }` is read into this). @example 'shadow.internal:8080' */
  backend: string;
  /** Share of requests mirrored, 0 to 100. @default 100 @example 10 */
  percentage?: number;
}
