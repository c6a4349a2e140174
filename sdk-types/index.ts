/**
 * Portcullis public surface: import it in `gateway.config.ts`.
 *
 * @example
 * import { defineConfig } from 'portcullis';
 * export default defineConfig({
 *   binds: [{ port: 8080, listeners: [{ routes: [{ backends: [{ host: '127.0.0.1:9000' }] }] }] }],
 * });
 */
import type { GatewayConfig } from './config.ts';

export type { A2aAgent, A2aBackend, A2aBackendConfig, A2aPushNotifications } from './a2a.ts';
export type { CreateGateway, CreateGatewayOptions, GatewayHandleOptions, GatewayReloadResult, PortcullisGateway } from './gateway.ts';
export type { A2aRequestFilterDecision, A2aResponseFilterDecision, FilterA2aMessage, FilterA2aRequestContext, FilterA2aResponseContext } from './filter.ts';

export type {
  AccessLogConfig,
  AdminConfig,
  Backend,
  BackendTlsPolicy,
  Bind,
  CorsPolicy,
  DirectResponsePolicy,
  DelayPolicy,
  AbortPolicy,
  AbortRule,
  GatewayConfig,
  HeaderList,
  HeaderModifier,
  HostBackend,
  LimitsConfig,
  Listener,
  ListenerTls,
  LoggingConfig,
  McpBackend,
  McpBackendConfig,
  McpDnsRebindingProtection,
  McpRemoteTarget,
  McpStdioTarget,
  McpTarget,
  Milliseconds,
  PathMatch,
  PathRewrite,
  Policies,
  ReadinessConfig,
  RequestRedirectPolicy,
  RetryPolicy,
  Route,
  RouteMatch,
  ShutdownConfig,
  TimeoutPolicy,
  UpstreamConfig,
  UrlRewritePolicy,
  ValueMatch,
} from './config.ts';
export type { Identity } from './identity.ts';
export type { McpOpenApiOperationFilter, McpOpenApiOverride, McpOpenApiSchemaSource, McpOpenApiTarget } from './openapi.ts';
export type { McpTargetTools, McpToolOverride, McpToolSearch, McpToolset, McpToolsetGrant } from './tools.ts';
export { defineFilter } from './filter.ts';
export type {
  ContinueDecision,
  Filter,
  FilterContextBase,
  FilterHarness,
  FilterHeaderChanges,
  FilterMcpMessage,
  FilterMcpRequestContext,
  FilterMcpResponseContext,
  FilterRequest,
  FilterRequestContext,
  FilterResponse,
  FilterResponseContext,
  FilterTestOptions,
  FilterTestResult,
  HttpFilterDecision,
  JsonValue,
  McpRequestFilterDecision,
  McpResponseFilterDecision,
  RespondDecision,
  SyntheticRequest,
  SyntheticResponse,
} from './filter.ts';
export type {
  ArgumentSchema,
  FilterAttachment,
  HeaderInjectionPolicy,
  PiiKind,
  PiiRedactionPolicy,
  ToolArgumentRule,
  ToolArgumentRulesPolicy,
  ToolPinningPolicy,
} from './filter-policies.ts';
export type {
  ApiKeyEntry,
  ApiKeyPolicy,
  AuthMode,
  AuthorizationPolicy,
  BackendAuthPolicy,
  BackendJwtSign,
  OidcPolicy,
  ExtAuthzPolicy,
  ExtAuthzHttp,
  CredentialRef,
  IdentityMapCredentials,
  JwksSource,
  JwtAuthPolicy,
  McpAuthenticationPolicy,
  McpAuthProvider,
  BearerMethod,
  SecretSource,
  TokenExchangeCredentials,
  TokenLocation,
  UpstreamOAuthCallbackPolicy,
  UpstreamOAuthCredentials,
} from './security.ts';
export type { CelRule, McpAuthorizationPolicy, RequestMirrorPolicy } from './cel-rules.ts';
export type {
  AuthorizationA2a,
  AuthorizationDecision,
  AuthorizationInput,
  AuthorizationMcp,
  AuthorizationRequest,
} from './authorization.ts';
export type { AuditConfig, AuditFile, LangfuseConfig, StatsConfig, TracingConfig } from './telemetry.ts';
export type { RateLimitKeyPart, RateLimitPolicy, RateLimitQuota, RateLimitRate, RateLimitRedisStore, RateLimitRule, RateLimitStore } from './rate-limit.ts';
export type { RemoteRateLimitDescriptor, RemoteRateLimitEntry, RemoteRateLimitPolicy } from './remote-rate-limit.ts';
export { ErrorCodes } from './errors.ts';
export type { ErrorBody, ErrorCode } from './errors.ts';

/** What `gateway.config.ts` may export: the config, or a function (sync or async) that returns it. */
export type ConfigExport = GatewayConfig | (() => GatewayConfig | Promise<GatewayConfig>);

/**
 * Types a gateway configuration. It returns its argument unchanged: validation happens when the gateway loads it.
 *
 * @example
 * export default defineConfig({ binds: [{ port: 8080, listeners: [{ routes: [
 *   { matches: [{ path: { pathPrefix: '/api' } }], backends: [{ host: '127.0.0.1:9000' }] },
 * ] }] }] });
 * @example
 * // A function, for values computed at load time:
 * export default defineConfig(async () => ({ binds: [{ port: Number(process.env.PORT ?? 8080), listeners: [{ routes: [
 *   { backends: [{ host: await lookupUpstream() }] },
 * ] }] }] }));
 */
export function defineConfig<T extends ConfigExport>(config: T): T {
  return config;
}
