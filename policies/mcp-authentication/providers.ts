import type { McpAuthProvider } from '../../sdk-types/security.ts';

/**
 * What each identity-provider adapter does, as agentgateway defines it (crates/agentgateway/src/mcp/auth.rs): where
 * the provider's metadata is, what is rewritten in it, where registration goes. One table, read by the policy;
 * nothing else in the gateway knows provider names.
 */
export interface ProviderAdapter {
  /** Where the provider's own metadata document is fetched from. */
  discoveryUrl(issuer: string): string;
  /** The JWKS when the config names none. */
  jwksUrl(issuer: string): string;
  /** Audience appended as `?audience=` to the authorization endpoint (providers without RFC 8707). */
  audienceParameter: boolean;
  /**
   * `rewrite`: the provider's `registration_endpoint` is replaced by the gateway's relay (it must be there);
   * `rewriteIfPresent`: replaced only when the provider announces one; `inject`: the provider has none, the
   * gateway's is added; `keep`: the provider's own endpoint is announced.
   */
  registration: 'rewrite' | 'rewriteIfPresent' | 'inject' | 'keep';
  /** Where registrations are relayed when no `clientId` is configured, or why they cannot be. */
  registrationUrl(issuer: string): string | { unsupported: string };
  /** The authorization and token endpoints are the gateway's (Entra: the RFC 8707 `resource` parameter is stripped). */
  proxiesAuthorization: boolean;
}

const trim = (issuer: string): string => issuer.replace(/\/+$/, '');

/** RFC 8414 section 3.1: the well-known segment goes between the issuer's origin and its path. */
export function rfc8414Url(issuer: string): string {
  const u = new URL(issuer);
  const path = u.pathname === '/' ? '' : u.pathname.replace(/\/$/, '');
  return `${u.origin}/.well-known/oauth-authorization-server${path}`;
}

/** OpenID Connect Discovery 1.0 section 4: the well-known segment appended to the issuer. */
export function oidcDiscoveryUrl(issuer: string): string {
  return `${trim(issuer)}/.well-known/openid-configuration`;
}

export interface EntraEndpoints {
  openidConfiguration: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  jwksUri: string;
}

/**
 * Entra's v2.0 endpoints from either issuer form (`https://login.microsoftonline.com/<tenant>/v2.0` or the v1
 * `https://sts.windows.net/<tenant>/`); the interactive endpoints always live on the login host.
 */
export function entraEndpoints(issuer: string): EntraEndpoints {
  const u = new URL(issuer);
  const tenant = u.pathname.split('/').find((s) => s !== '');
  if (!tenant) throw new Error(`the Entra issuer ${JSON.stringify(issuer)} has no tenant path segment (expected https://login.microsoftonline.com/<tenant>/v2.0 or https://sts.windows.net/<tenant>/)`);
  const v1 = u.host.toLowerCase() === 'sts.windows.net';
  // Entra is always https; the issuer's own scheme is kept for other hosts (sovereign clouds, a local stand-in).
  const authority = v1 ? `https://login.microsoftonline.com/${tenant}` : `${u.protocol}//${u.host}/${tenant}`;
  return {
    openidConfiguration: `${authority}/v2.0/.well-known/openid-configuration`,
    authorizationEndpoint: `${authority}/oauth2/v2.0/authorize`,
    tokenEndpoint: `${authority}/oauth2/v2.0/token`,
    jwksUri: `${authority}/discovery/v2.0/keys`,
  };
}

/** Descope's agentic issuers: `https://api.descope.com/v1/apps/agentic/<project>/<server>`. */
function descopeIds(issuer: string): { origin: string; project: string; server: string } | undefined {
  const u = new URL(trim(issuer));
  const seg = u.pathname.replace(/^\//, '').split('/');
  if (seg.length >= 5 && seg[0] === 'v1' && seg[1] === 'apps' && seg[2] === 'agentic') return { origin: u.origin, project: seg[3], server: seg[4] };
  return undefined;
}

const standardJwks = (issuer: string): string => `${trim(issuer)}/.well-known/jwks.json`;

/** A spec-compliant authorization server: clients are sent to it directly; the gateway only mirrors its metadata. */
export const SPEC_COMPLIANT: ProviderAdapter = {
  discoveryUrl: rfc8414Url,
  jwksUrl: standardJwks,
  audienceParameter: false,
  registration: 'keep',
  registrationUrl: (issuer) => `${trim(issuer)}/clients-registrations/openid-connect`,
  proxiesAuthorization: false,
};

export const PROVIDERS: Record<McpAuthProvider, ProviderAdapter> = {
  // No RFC 8414, no RFC 8707 (the audience is fixed in the realm), and no CORS on its registration endpoint
  // (keycloak/keycloak#39629): the gateway relays registration.
  keycloak: {
    discoveryUrl: oidcDiscoveryUrl,
    jwksUrl: (issuer) => `${trim(issuer)}/protocol/openid-connect/certs`,
    audienceParameter: false,
    registration: 'rewrite',
    registrationUrl: (issuer) => `${trim(issuer)}/clients-registrations/openid-connect`,
    proxiesAuthorization: false,
  },
  auth0: {
    discoveryUrl: rfc8414Url,
    jwksUrl: standardJwks,
    audienceParameter: true,
    registration: 'keep',
    registrationUrl: (issuer) => `${trim(issuer)}/clients-registrations/openid-connect`,
    proxiesAuthorization: false,
  },
  okta: {
    discoveryUrl: oidcDiscoveryUrl,
    jwksUrl: standardJwks,
    audienceParameter: true,
    registration: 'rewriteIfPresent',
    // Relative to the org, not the authorization server: https://<org>.okta.com/oauth2/v1/clients.
    registrationUrl: (issuer) => `${new URL(issuer).origin}/oauth2/v1/clients`,
    proxiesAuthorization: false,
  },
  descope: {
    discoveryUrl: oidcDiscoveryUrl,
    jwksUrl: (issuer) => {
      const ids = descopeIds(issuer);
      return ids ? `${ids.origin}/${ids.project}/.well-known/jwks.json` : standardJwks(issuer);
    },
    audienceParameter: false,
    registration: 'rewriteIfPresent',
    registrationUrl: (issuer) => {
      const ids = descopeIds(issuer);
      return ids ? `${ids.origin}/v1/mgmt/mcp/client/${ids.project}/${ids.server}/register` : { unsupported: 'Descope registration needs an agentic issuer (https://api.descope.com/v1/apps/agentic/<project>/<server>); set mcpAuthentication.clientId' };
    },
    proxiesAuthorization: false,
  },
  // No registration at all (goauthentik/authentik#8751): only a pre-registered public client works.
  authentik: {
    discoveryUrl: oidcDiscoveryUrl,
    jwksUrl: (issuer) => `${trim(issuer)}/jwks/`,
    audienceParameter: false,
    registration: 'inject',
    registrationUrl: () => ({ unsupported: 'authentik does not support dynamic client registration; set mcpAuthentication.clientId to a pre-registered public client' }),
    proxiesAuthorization: false,
  },
  // Only OIDC discovery, no registration, and its v2.0 endpoints refuse the RFC 8707 `resource` parameter
  // (AADSTS9010010) that MCP clients must send: the gateway proxies authorize and token.
  entra: {
    discoveryUrl: (issuer) => entraEndpoints(issuer).openidConfiguration,
    jwksUrl: (issuer) => entraEndpoints(issuer).jwksUri,
    audienceParameter: false,
    registration: 'inject',
    registrationUrl: () => ({ unsupported: 'Entra ID does not support dynamic client registration; set mcpAuthentication.clientId to a pre-registered app registration' }),
    proxiesAuthorization: true,
  },
};

/**
 * The provider's metadata as the gateway serves it. `gatewayAs` is the gateway's authorization-server metadata URL
 * for this resource; `issuer` (with a provider) is the gateway's URL standing for the provider. Returns the reason
 * when the document lacks what the adapter must rewrite.
 */
export function rewriteMetadata(
  adapter: ProviderAdapter,
  withProvider: boolean,
  doc: Record<string, unknown>,
  options: { gatewayAs: string; gatewayIssuer: string; audience: string | undefined },
): Record<string, unknown> | { invalid: string } {
  const out: Record<string, unknown> = { ...doc };
  const need = (key: string): string | { invalid: string } => (typeof out[key] === 'string' && out[key] !== '' ? (out[key] as string) : { invalid: `the provider's metadata has no ${key}` });
  if (adapter.audienceParameter && options.audience !== undefined) {
    const ae = need('authorization_endpoint');
    if (typeof ae !== 'string') return ae;
    const u = new URL(ae);
    u.searchParams.set('audience', options.audience);
    out.authorization_endpoint = u.href;
  }
  if (adapter.proxiesAuthorization) {
    for (const key of ['authorization_endpoint', 'token_endpoint']) {
      const v = need(key);
      if (typeof v !== 'string') return v;
    }
    out.authorization_endpoint = `${options.gatewayAs}/authorize`;
    out.token_endpoint = `${options.gatewayAs}/token`;
    // Entra supports S256 but omits it from its discovery document; MCP clients refuse a server without it.
    out.code_challenge_methods_supported ??= ['S256'];
  }
  const relay = `${options.gatewayAs}/client-registration`;
  if (adapter.registration === 'rewrite') {
    const re = need('registration_endpoint');
    if (typeof re !== 'string') return re;
    out.registration_endpoint = relay;
  } else if (adapter.registration === 'rewriteIfPresent') {
    if (typeof out.registration_endpoint === 'string') out.registration_endpoint = relay;
  } else if (adapter.registration === 'inject') {
    out.registration_endpoint = relay;
  }
  if (withProvider) out.issuer = options.gatewayIssuer;
  return out;
}
