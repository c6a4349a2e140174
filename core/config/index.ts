export { ConfigValidationError, loadConfig, loadConfigObject, validateConfig, type LoadedConfig } from './load.ts';
export { DEFAULTS, resolveConfig, type ResolvedBackend, type ResolvedBind, type ResolvedConfig, type ResolvedListener, type ResolvedRoute } from './resolve.ts';
export { backendKindOf, DIRECT_KIND, routeBackendKinds, type BackendKind, type BackendKinds } from './backend-kinds.ts';
export * as s from '../schema/index.ts';
export { hostnameSchema, hostPortSchema, headerNameSchema } from './gateway-schema.ts';
export { parseDuration } from './agentgateway.ts';
