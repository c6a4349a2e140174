import type { PolicyDefinition } from '../core/pipeline/index.ts';
import { backendTLS } from './backend-tls/index.ts';
import { cors } from './cors/index.ts';
import { directResponse } from './direct-response/index.ts';
import { requestHeaderModifier, responseHeaderModifier } from './header-modifier/index.ts';
import { requestRedirect } from './request-redirect/index.ts';
import { retry } from './retry/index.ts';
import { timeout } from './timeout/index.ts';
import { urlRewrite } from './url-rewrite/index.ts';
import { filters } from './filters/index.ts';
export { filters };

export { backendTLS, cors, directResponse, requestHeaderModifier, requestRedirect, responseHeaderModifier, retry, timeout, urlRewrite };

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
  directResponse,
  filters,
];
