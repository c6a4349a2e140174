/**
 * Tool governance of an MCP backend: per-target tool overrides and filters, toolsets granted by identity, and the
 * gateway's tool search. See docs/tool-governance.md.
 */

import type { JsonValue } from './filter.ts';

/**
 * How the gateway shows one tool of a target. Keys of `McpTargetTools.overrides` are the tool's name as the target
 * knows it.
 * @example { name: 'search_issues', description: 'Search issues of acme/web', fixedArguments: { repo: 'acme/web' } }
 */
export interface McpToolOverride {
  /**
   * The name clients see instead of the target's own (before the `<target>_` prefix, when the route prefixes). The
   * target's own name is no longer callable.
   * @default the target's own name
   * @example 'search_issues'
   */
  name?: string;
  /** The description clients see. @default the target's own @example 'Searches the issues of acme/web' */
  description?: string;
  /**
   * Tool annotations (MCP `ToolAnnotations`: `title`, `readOnlyHint`, `destructiveHint`, `idempotentHint`,
   * `openWorldHint`), merged over the target's own.
   * @default the target's own
   * @example { readOnlyHint: true, title: 'Search issues' }
   */
  annotations?: Record<string, JsonValue>;
  /**
   * Arguments the gateway sets on every call: removed from the `inputSchema` clients see, and injected into each
   * call (a value the client sends for one of them is replaced). Each must be a property of the tool's schema.
   * @default {}
   * @example { repo: 'acme/web' }
   */
  fixedArguments?: Record<string, JsonValue>;
  /**
   * Arguments filled in when the client leaves them out: shown as the schema's `default` and no longer required.
   * Each must be a property of the tool's schema.
   * @default {}
   * @example { per_page: 20 }
   */
  defaultArguments?: Record<string, JsonValue>;
}

/**
 * Which tools of one target clients see, and how. Names and globs (`*` any run of characters, `?` one character)
 * match the tool's name as the target knows it. A tool is shown when it matches `include` (when set) and no
 * `exclude`.
 * @example { include: ['issues_*', 'pulls_*'], exclude: ['*_delete*'], overrides: { issues_create: { fixedArguments: { owner: 'acme' } } } }
 */
export interface McpTargetTools {
  /** Only tools matching one of these are shown. @default every tool @example ['issues_*'] */
  include?: string[];
  /** Tools matching one of these are hidden (and refused when called). @default [] @example ['*_delete*'] */
  exclude?: string[];
  /** Per-tool overrides, by the tool's name as the target knows it. @default {} @example { get_me: { name: 'whoami' } } */
  overrides?: Record<string, McpToolOverride>;
}

/**
 * Who is granted a toolset. Every key given must hold (a subject in `subjects`, a role in `roles`, each claim
 * matching); each list matches when any of its values does. `everyone: true` grants it to every caller, anonymous
 * ones included.
 * @example { claims: { role: 'reader' } }
 */
export interface McpToolsetGrant {
  /** Identity subjects (`sub` of a JWT, the API key's name). @default any @example ['alice'] */
  subjects?: string[];
  /** Identity roles. @default any @example ['admin'] */
  roles?: string[];
  /**
   * Claims of the identity, by name (a dotted name reaches into objects: `realm_access.roles`). A claim matches when
   * its value, or one of its values when it is a list, equals the value given or one of the values given.
   * @default any
   * @example { role: 'reader', groups: ['eng', 'ops'] }
   */
  claims?: Record<string, string | number | boolean | Array<string | number | boolean>>;
  /** Grants the toolset to every caller. @default false @example true */
  everyone?: boolean;
}

/**
 * A named set of tools and who is granted it. Tool names and globs match the names clients see (after renames and
 * the `<target>_` prefix).
 * @example { tools: ['github_search_*', 'github_get_*'], grant: { claims: { role: 'reader' } } }
 */
export interface McpToolset {
  /** Tool names or globs (`*`, `?`), as clients see them. @example ['github_search_*'] */
  tools: string[];
  /** Who gets this toolset. @example { roles: ['reader'] } */
  grant: McpToolsetGrant;
}

/**
 * The gateway's tool search: a `search_tools` tool that ranks the caller's visible tools for a query (BM25 over
 * names, descriptions and parameter names), and a `call_tool` tool that calls any visible tool by name.
 * @example { list: 'pinned', pinned: ['github_get_me'], maxResults: 8 }
 */
export interface McpToolSearch {
  /**
   * What `tools/list` answers: `all` lists every visible tool plus `search_tools` and `call_tool`; `pinned` lists
   * only `search_tools`, `call_tool` and the visible tools named in `pinned` (for clients with small context windows).
   * @default 'all'
   * @example 'pinned'
   */
  list?: 'all' | 'pinned';
  /** Tools (names or globs as clients see them) listed beside the search tools in `pinned` mode. @default [] @example ['github_get_me'] */
  pinned?: string[];
  /** Most tools one search returns (a call may ask for fewer with `limit`). @default 10 @example 5 */
  maxResults?: number;
}
