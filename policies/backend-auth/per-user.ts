import type { IncomingHttpHeaders } from 'node:http';
import { ErrorCodes, GatewayError } from '../../core/errors.ts';
import type { PolicyInstance, RequestContext } from '../../core/pipeline/index.ts';
import { stateKey, type StateStore } from '../../core/state/index.ts';
import { backendOf, failBeforeDispatch, withHeader, type UpstreamInterceptor } from '../../core/upstream/index.ts';
import { UPSTREAM_CREDENTIAL_PROBE, UPSTREAM_LINK_REQUIRED, type UpstreamCredentialProbe } from '../../core/pipeline/index.ts';

/**
 * What one request's caller sends upstream: a value for the credential header, or nothing at all (a fallback of
 * `none`). Resolved once per client request by the policy's step, read by its interceptor on every attempt.
 */
export interface ResolvedCredential {
  value: string | undefined;
}

/**
 * Resolves the caller's upstream credential. Throws a GatewayError (stable code) to refuse the request; never puts
 * a secret in the message.
 */
export type CredentialResolver = (ctx: RequestContext) => ResolvedCredential | Promise<ResolvedCredential>;

/**
 * The resolved credential of each client request, keyed by the request's `clientHeaders` object: the one object
 * every backend hands its dispatches (HTTP hosts, A2A agents, and an MCP session's remote and OpenAPI targets, which
 * carry the headers of the session's latest request). Weak, so it dies with the request; kept in gateway state so
 * that an MCP session opened before a reload still finds what the new runtime's step resolved.
 */
const RESOLVED = stateKey<WeakMap<object, ResolvedCredential>>('backendAuth.perUser.resolved');

/**
 * A `backendAuth` instance that sends each caller its own credential: an HTTP step (upstream phase, so after
 * authentication and authorization) resolves it and refuses the request when there is none; an attempt interceptor
 * sets it on every call made for that request. A call that no request of this policy resolved (a stray
 * background call) fails closed rather than going out without the caller's credential.
 */
export function createPerUserInstance(options: {
  header: string;
  prefix: string;
  scope: string;
  state: StateStore;
  resolve: CredentialResolver;
  probe: UpstreamCredentialProbe;
  close?: () => Promise<void>;
  /**
   * The route's backends are all MCP: a caller who must first link an upstream account is not refused here but
   * handed to the MCP backend, which answers its JSON-RPC requests with a URL elicitation (UPSTREAM_LINK_REQUIRED).
   */
  deferLinks?: boolean;
}): PolicyInstance {
  const byRequest = options.state.getOrCreate(RESOLVED, options.scope, () => new WeakMap());
  // The route's authorization policy asks this whether the caller has a credential (input.upstreamCredentials).
  const probe = options.probe;
  options.state.set(UPSTREAM_CREDENTIAL_PROBE, options.scope, probe);
  const { header, prefix } = options;
  const attempt: UpstreamInterceptor = (dispatch) =>
    function perUserCredential(opts, handler) {
      const resolved = opts.clientHeaders ? byRequest.get(opts.clientHeaders) : undefined;
      if (!resolved) {
        return failBeforeDispatch(
          handler,
          new GatewayError(ErrorCodes.UPSTREAM_CREDENTIAL_MISSING, `backendAuth: a call to ${backendOf(opts)} is not made for a client request, so no caller's credential can be sent; it was not sent`),
        );
      }
      return dispatch({ ...opts, headers: withHeader(opts.headers, header, resolved.value === undefined ? undefined : prefix + resolved.value) }, handler);
    };
  return {
    async step(ctx, next) {
      let resolved: ResolvedCredential;
      try {
        resolved = await options.resolve(ctx);
      } catch (err) {
        const link = err as GatewayError & { loginUrl?: unknown; link?: unknown };
        if (!options.deferLinks || !(err instanceof GatewayError) || err.code !== ErrorCodes.UPSTREAM_LINK_REQUIRED || typeof link.loginUrl !== 'string') throw err;
        // Nothing is resolved for this request: any upstream call made for it fails closed in the interceptor.
        ctx.vars.set(UPSTREAM_LINK_REQUIRED, { link: typeof link.link === 'string' ? link.link : '', loginUrl: link.loginUrl, message: err.message });
        return next();
      }
      if (resolved.value !== undefined && /[\r\n\0]/.test(resolved.value)) {
        throw new GatewayError(ErrorCodes.UPSTREAM_CREDENTIAL_MISSING, `backendAuth: the upstream credential for caller "${ctx.identity?.subject ?? 'anonymous'}" contains a line break or NUL; it was not sent`);
      }
      byRequest.set(ctx.clientHeaders as IncomingHttpHeaders, resolved);
      await next();
    },
    upstream: { attempt, readsClientHeaders: true },
    async close() {
      // Retired after its successor registered: remove the probe only if it is still this one (the route lost it).
      if (options.state.get(UPSTREAM_CREDENTIAL_PROBE, options.scope) === probe) options.state.delete(UPSTREAM_CREDENTIAL_PROBE, options.scope);
      await options.close?.();
    },
  };
}

/** The caller's bearer token as the client sent it (authentication removes it from what is forwarded, not from here). */
export function bearerOf(ctx: RequestContext): string | undefined {
  const raw = ctx.clientHeaders.authorization;
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (value === undefined) return undefined;
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(value);
  return m ? m[1] : undefined;
}
