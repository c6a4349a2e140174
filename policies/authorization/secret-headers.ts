import type { RequestContext } from '../../core/pipeline/index.ts';
import { stateKey } from '../../core/state/index.ts';

/** Headers that carry credentials whatever policy is configured: never shown to Rego. */
export const ALWAYS_SECRET = new Set(['authorization', 'proxy-authorization', 'cookie', 'x-api-key']);

/** The headers authentication policies read a credential from in this request. */
const CREDENTIAL_HEADERS = stateKey<Set<string>>('auth.credentialHeaders');

/**
 * Authentication policies call this with the header they read the credential from, so authorization input never
 * carries it, even with `passthrough` (where the header stays in the request sent upstream).
 */
export function markSecretHeader(ctx: RequestContext, name: string): void {
  let set = ctx.vars.get(CREDENTIAL_HEADERS);
  if (!set) ctx.vars.set(CREDENTIAL_HEADERS, (set = new Set()));
  set.add(name.toLowerCase());
}

export function isSecretHeader(ctx: RequestContext, name: string): boolean {
  return ALWAYS_SECRET.has(name) || ctx.vars.get(CREDENTIAL_HEADERS)?.has(name) === true;
}
