import type { McpOpenApiTarget } from '../../../../../sdk-types/openapi.ts';
import { sharedRemoteAgent } from '../streamable-http.ts';
import type { McpTargetKind } from '../target-kind.ts';
import { openApiTargetSchema } from './config-schema.ts';
import { attachOpenApiTargets, type OpenApiService } from './service.ts';
import { OpenApiTransport } from './transport.ts';

/** `openapi`: a REST API described by OpenAPI, served in process as an MCP server with one tool per operation. */
export const openApiTargetKind: McpTargetKind<McpOpenApiTarget> = {
  key: 'openapi',
  schema: openApiTargetSchema,
  remote: true,
  // In process: nothing upstream holds a session, so any replica serves it from what the session id carries.
  resumable: true,
  async load(targets, ctx) {
    // The specs load (and fail the load with their path) before anything else of the backend starts.
    const attached = await attachOpenApiTargets(targets, ctx);
    if (!attached) return undefined;
    return {
      loaded: attached.services,
      files: attached.files,
      knownTools: () => new Map([...attached.services].map(([name, s]) => [name, s.current?.list ?? []])),
      release: () => attached.release(),
    };
  },
  create(_options, ctx) {
    const service = ctx.loaded as OpenApiService | undefined;
    if (!service) throw new Error(`OpenAPI target "${ctx.target}" has no loaded API`);
    return new OpenApiTransport(service, ctx.upstream ?? sharedRemoteAgent, ctx.target);
  },
};
