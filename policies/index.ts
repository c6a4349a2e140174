import type { PolicyDefinition } from '../core/pipeline/index.ts';
import { apiKey } from './api-key/index.ts';
import { authorization } from './authorization/index.ts';
import { mcpAuthorization } from './authorization/mcp-authorization.ts';
import { requestMirror } from './request-mirror/index.ts';
import { backendAuth, upstreamOAuthCallback } from './backend-auth/index.ts';
import { jwtAuth } from './jwt-auth/index.ts';
import { mcpAuthentication } from './mcp-authentication/index.ts';
import { oidc } from './oidc/index.ts';
import { extAuthz } from './ext-authz/index.ts';
export { extAuthz, oidc };
import { backendTLS } from './backend-tls/index.ts';
import { cors } from './cors/index.ts';
import { directResponse } from './direct-response/index.ts';
import { delay } from './delay/index.ts';
import { abort } from './abort/index.ts';
export { abort, delay };
import { requestHeaderModifier, responseHeaderModifier } from './header-modifier/index.ts';
import { requestRedirect } from './request-redirect/index.ts';
import { retry } from './retry/index.ts';
import { timeout } from './timeout/index.ts';
import { urlRewrite } from './url-rewrite/index.ts';
import { filters } from './filters/index.ts';
export { filters };
import { headerInjection } from './header-injection/index.ts';
import { piiRedaction } from './pii-redaction/index.ts';
import { toolArgumentRules } from './tool-argument-rules/index.ts';
import { toolPinning } from './tool-pinning/index.ts';
export { headerInjection, piiRedaction, toolArgumentRules, toolPinning };
import { rateLimit } from './rate-limit/index.ts';
import { remoteRateLimit } from './remote-rate-limit/index.ts';
export { rateLimit, remoteRateLimit };

export { upstreamOAuthCallback };
export { apiKey, authorization, backendAuth, backendTLS, cors, directResponse, requestHeaderModifier, requestRedirect, responseHeaderModifier, retry, timeout, urlRewrite, jwtAuth, mcpAuthentication };

/** Every built-in policy kind; the CLI hands this list to the core. Order here does not matter: phases do. */
export const builtinPolicies: readonly PolicyDefinition<any>[] = [
  cors,
  timeout,
  requestHeaderModifier,
  responseHeaderModifier,
  urlRewrite,
  retry,
  backendTLS,
  requestRedirect,
  delay,
  // Before directResponse (same phase): a route may abort some requests and answer the rest itself.
  abort,
  directResponse,
  filters,
  piiRedaction,
  toolArgumentRules,
  headerInjection,
  toolPinning,
  authorization,
  extAuthz,
  jwtAuth,
  apiKey,
  oidc,
  backendAuth,
  upstreamOAuthCallback,
  mcpAuthentication,
  rateLimit,
  // After the local limits (same phase): a request they refuse never costs the remote service a check.
  remoteRateLimit,
  mcpAuthorization,
  requestMirror,
];
