/**
 * A REST API described by OpenAPI (3.0 or 3.1), served as MCP tools: one tool per operation. agentgateway's shape
 * (`schema` plus `host`, or `host`/`port`/`path`) is accepted unchanged.
 *
 * @example
 * { name: 'petstore', openapi: { schema: { file: './petstore.yaml' }, host: 'localhost:8080' } }
 * @example
 * { name: 'github', openapi: { schema: { url: 'https://example.com/openapi.json' }, url: 'https://api.example.com', include: [{ tags: ['repos'] }] } }
 */
export interface McpOpenApiTarget {
  /**
   * The OpenAPI description: a file (relative to the config file; watched, a change reloads the gateway), a URL
   * (fetched once per load, bounded by `timeoutMs`), or the document itself (`inline`, YAML or JSON text, or an
   * object). A bare string is inline text, as in agentgateway.
   * @example { file: './openapi.yaml' }
   */
  schema: McpOpenApiSchemaSource | string;
  /**
   * Base URL of the REST API, used instead of the spec's `servers`. @example 'https://api.example.com/v1'
   */
  url?: string;
  /**
   * The API's host: `name`, `name:port`, or a URL (`https://api.example.com`). With it (and no `path`) the path of
   * the spec's first server URL is kept, so `servers: [{ url: /v3 }]` with `host: 'localhost:8080'` calls
   * `http://localhost:8080/v3/...` (https when the route has backend TLS or the host is an https URL).
   * @example 'localhost:8080'
   */
  host?: string;
  /** Port, with `host`. @default 80, or 443 with TLS @example 8080 */
  port?: number;
  /** Base path, with `host`, replacing the spec server's path. @example '/api/v3' */
  path?: string;
  /** Values for the variables of the spec's first server URL, over their defaults. @example { region: 'eu' } */
  serverVariables?: Record<string, string>;
  /** Headers sent with every call (after the operation's own; backendAuth policies apply on top). @example { 'x-client': 'portcullis' } */
  headers?: Record<string, string>;
  /** Only operations matching at least one of these become tools. @default every operation */
  include?: McpOpenApiOperationFilter[];
  /** Operations matching any of these are left out (after `include`). @default none */
  exclude?: McpOpenApiOperationFilter[];
  /**
   * Tool name and description per operation, by `operationId` or by `"METHOD /path"`.
   * @example { getPetById: { name: 'get_pet', description: 'Look a pet up by its id' } }
   */
  overrides?: Record<string, McpOpenApiOverride>;
  /** Largest response body read from the API; a larger one is an error result. @default 1048576 (1 MiB) @example 262144 */
  maxResponseBytes?: number;
}

/** Where an OpenAPI description comes from: exactly one of `file`, `url`, `inline`. */
export interface McpOpenApiSchemaSource {
  /** A YAML or JSON file, relative to the config file. Watched: editing it reloads the gateway. @example './openapi.yaml' */
  file?: string;
  /** An http(s) URL, fetched when the config loads. @example 'https://petstore3.swagger.io/api/v3/openapi.json' */
  url?: string;
  /** The document: YAML or JSON text, or the parsed object. */
  inline?: string | Record<string, unknown>;
  /** Time allowed to fetch `url` (and any remote `$ref` of the document). @default 10000 @example 5000 */
  timeoutMs?: number;
}

/**
 * Selects operations. A filter matches when every field it sets matches (a field matches when any of its values
 * does).
 * @example { tags: ['pet'], methods: ['GET'] }
 * @example { paths: ['/admin/**'] }
 */
export interface McpOpenApiOperationFilter {
  /** Operation tags. @example ['pet'] */
  tags?: string[];
  /** Path globs: `*` matches within one segment, `**` across segments. @example ['/pet/*', '/store/**'] */
  paths?: string[];
  /** HTTP methods, any case. @example ['GET', 'HEAD'] */
  methods?: string[];
  /** Operation ids. @example ['deletePet'] */
  operationIds?: string[];
}

/** Overrides of the tool an operation becomes. @example { name: 'find_pets', description: 'Pets by status' } */
export interface McpOpenApiOverride {
  /** Tool name (letters, digits, `_`, `-`; at most 64). @example 'find_pets' */
  name?: string;
  /** Tool description. @example 'Finds pets by their status' */
  description?: string;
}
