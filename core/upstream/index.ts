/**
 * How the gateway calls backends: undici interceptors (`(dispatch) => dispatch`) composed once per route at
 * config load. Policies of the `upstream` kind contribute them (`PolicyInstance.upstream`); HTTP and remote MCP
 * backends dispatch through the route's composition. Nothing here keeps per-request state: what a request needs
 * travels in its dispatch options.
 */
export { createRouteUpstream, DEFAULT_HEADERS_TIMEOUT_MS, type ComposeOptions, type RouteUpstream, type RouteUpstreamOptions } from './route.ts';
export { createRetryInterceptor, DEFAULT_RETRY, type RetryOptions } from './interceptors/retry.ts';
export { createAttemptTimeoutInterceptor, createDefaultsInterceptor, type DispatchDefaults } from './interceptors/timeout.ts';
export { createCredentialInterceptor, type CredentialOptions } from './interceptors/credential.ts';
export { createErrorMapInterceptor } from './interceptors/error-map.ts';
export { createTraceInterceptor } from './interceptors/trace.ts';
export { isConnectFailure, mapUpstreamError, UpstreamAttemptError } from './errors.ts';
export { backendOf, failBeforeDispatch, ForwardingHandler, withHeader } from './handler.ts';
export { createOutboundGuard, isNonPublicAddress, type OutboundGuard, type OutboundRule, type OutboundVerdict } from './outbound-guard.ts';
export { watchAbort, type AbortSource } from './abort.ts';
export { callWhole, type WholeAnswer, type WholeCallOptions } from './whole-call.ts';
export { callPushed, readPushed, type BodySink, type PushedBody, type PushedResponse } from './pushed-call.ts';
export type { UpstreamContribution, UpstreamDispatch, UpstreamDispatchOptions, UpstreamInterceptor, UpstreamTls } from './types.ts';
