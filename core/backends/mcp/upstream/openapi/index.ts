/**
 * The `openapi` MCP target: a REST API described by OpenAPI 3.0 or 3.1, served as one MCP tool per operation.
 * `attachOpenApiTargets` loads the specs of a route's targets at build time; `OpenApiTransport` is the target's
 * in-process MCP server, calling the API through the route's composed upstream.
 */
export { attachOpenApiTargets, OpenApiService, type OpenApiTargets } from './service.ts';
export { OpenApiTransport } from './transport.ts';
export { OpenApiApi, DEFAULT_MAX_RESPONSE_BYTES } from './api.ts';
export { loadSpec, type LoadedSpec } from './load.ts';
export { buildOperations, toolName, type OperationTool } from './operations.ts';
export { openApiTargetSchema } from './config-schema.ts';
