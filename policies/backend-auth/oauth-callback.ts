import type { UpstreamOAuthCallbackPolicy } from '../../sdk-types/security.ts';
import { s } from '../../core/config/index.ts';
import { ErrorCodes, GatewayError } from '../../core/errors.ts';
import type { PolicyDefinition, RequestContext } from '../../core/pipeline/index.ts';
import { credentialChannel, publish } from '../../core/telemetry/index.ts';
import { oauthLinks } from './oauth.ts';

const QUOTE_MAX = 200;

const PAGE = (name: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><title>Linked</title></head><body><p>Your ${name.replace(/[^A-Za-z0-9._-]/g, '')} account is linked. You can close this page and return to your client.</p></body></html>`;

/**
 * The gateway's OAuth callback for `backendAuth.oauth` (the route that `redirectUri` names). The browser arrives
 * here from the upstream's authorization server with `code` and `state`; nothing else authenticates this request:
 * the `state` is the proof (random, single-use, bound to the user who started the login and to its PKCE
 * verifier, expiring after `loginTimeoutMs`). The code is redeemed with the verifier, and the tokens stored
 * encrypted for that user. The response never carries a token.
 */
export const upstreamOAuthCallback: PolicyDefinition<UpstreamOAuthCallbackPolicy> = {
  name: 'upstreamOAuthCallback',
  phase: 'directResponse',
  terminal: true,
  schema: s.object({}),
  create(_config, build) {
    const links = oauthLinks(build.state);
    const refuse = (ctx: RequestContext, message: string, extra: { link?: string; subject?: string } = {}): never => {
      publish(credentialChannel, () => ({ event: 'refused' as const, link: extra.link ?? 'unknown', subject: extra.subject, by: 'user' as const, route: ctx.routeName, reason: message, errorCode: ErrorCodes.OAUTH_CALLBACK_INVALID }));
      ctx.log.warn({ route: ctx.routeName, link: extra.link, subject: extra.subject, code: ErrorCodes.OAUTH_CALLBACK_INVALID, reason: message }, 'backendAuth.oauth: login callback refused');
      throw new GatewayError(ErrorCodes.OAUTH_CALLBACK_INVALID, `backendAuth.oauth callback: ${message}`);
    };
    return {
      async step(ctx) {
        if (ctx.method !== 'GET') throw new GatewayError(ErrorCodes.BAD_REQUEST, 'backendAuth.oauth callback: expected GET (the authorization server redirects the browser here)');
        const q = new URLSearchParams(ctx.search);
        const state = q.get('state');
        if (!state) return refuse(ctx, 'no state parameter');
        const login = await links.takeLogin(state);
        if (!login) return refuse(ctx, 'unknown, already used or expired state; start again from your client');
        const who = { link: login.link, subject: login.subject };
        const error = q.get('error');
        if (error) return refuse(ctx, `the authorization server answered ${error.slice(0, QUOTE_MAX)}${q.get('error_description') ? `: ${q.get('error_description')!.slice(0, QUOTE_MAX)}` : ''}`, who);
        const code = q.get('code');
        if (!code) return refuse(ctx, 'no code parameter', who);
        const runtime = links.runtimes.get(login.link);
        if (!runtime) return refuse(ctx, `the "${login.link}" link is no longer configured`, who);
        let tokens;
        try {
          tokens = await runtime.redeemCode(code, login.verifier, login.redirectUri);
        } catch (err) {
          return refuse(ctx, `the authorization server refused the code (${(err as Error).message})`, who);
        }
        await links.set(login.link, login.subject, tokens, false);
        publish(credentialChannel, () => ({ event: 'link' as const, link: login.link, subject: login.subject, by: 'user' as const, route: login.route, reason: login.session ? `login started from session ${login.session.slice(0, 8)}…` : undefined }));
        ctx.log.info({ route: ctx.routeName, link: login.link, subject: login.subject }, 'backendAuth.oauth: upstream account linked');
        const body = PAGE(login.link);
        ctx.respond({ status: 200, headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-length': String(Buffer.byteLength(body)) }, body });
      },
    };
  },
};
