import type { RequestContext } from '../../core/pipeline/index.ts';

/** Headers that carry credentials whatever policy is configured: never shown to Rego. */
export const ALWAYS_SECRET = new Set(['authorization', 'proxy-authorization', 'cookie', 'x-api-key']);

const marked = new WeakMap<RequestContext, Set<string>>();

/**
 * Authentication policies call this with the header they read the credential from, so authorization input never
 * carries it, even with `passthrough` (where the header stays in the request sent upstream).
 */
export function markSecretHeader(ctx: RequestContext, name: string): void {
  let set = marked.get(ctx);
  if (!set) marked.set(ctx, (set = new Set()));
  set.add(name.toLowerCase());
}

export function isSecretHeader(ctx: RequestContext, name: string): boolean {
  return ALWAYS_SECRET.has(name) || marked.get(ctx)?.has(name) === true;
}
