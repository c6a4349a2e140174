import type { RequestContext } from './types.ts';
import { stateKey } from '../state/index.ts';

/**
 * Per-user upstream credential links (backendAuth `oauth`) as the admin server sees them: which users linked which
 * upstream accounts, and a way to revoke one. The store of links puts itself in the gateway's state under
 * `CREDENTIAL_LINK_SOURCE`; the gateway's admin server lists and revokes through it. Tokens never cross this
 * interface. With the memory store, links live in the process that serves the user (with `workers > 1` the admin
 * server, in the supervisor, sees none of them); with a Redis store every process sees them all.
 */

/** One link, as the admin sees it. */
export interface CredentialLinkInfo {
  /** The link's name: the upstream account kind (`backendAuth.oauth.name`). */
  link: string;
  /** The user (its subject at the gateway). */
  subject: string;
  /** ISO times. */
  linkedAt: string;
  refreshedAt?: string;
  /** When the access token expires (it is refreshed on the next call after that, when a refresh token exists). */
  expiresAt?: string;
  /** Whether a refresh token is held (never the token itself). */
  refreshable: boolean;
}

export interface CredentialLinkSource {
  list(): Promise<CredentialLinkInfo[]>;
  /** Removes the link; false when there was none. */
  revoke(link: string, subject: string): Promise<boolean>;
}

/** The gateway's store of links, in its state (global scope): the admin server of that gateway lists and revokes through it. */
export const CREDENTIAL_LINK_SOURCE = stateKey<CredentialLinkSource>('backendAuth.credentialLinks');

/**
 * Whether the caller of a request has a per-user upstream credential, by name (an oauth link's name, or
 * `identityMap` / `tokenExchange`): what authorization policies see as `input.upstreamCredentials` (Rego) and
 * `upstreamCredentials` (CEL). The route's backendAuth registers it in gateway state under its route scope; the
 * route's authorization policy asks it once per request, before its decision. Never carries a credential.
 */
export type UpstreamCredentialProbe = (ctx: RequestContext) => Record<string, boolean> | Promise<Record<string, boolean>>;

/** The probe of a route's per-user backendAuth, by the route's scope. */
export const UPSTREAM_CREDENTIAL_PROBE = stateKey<UpstreamCredentialProbe>('backendAuth.credentialProbe');

/** This request's probe answer, set by the authorization step and read by the input builders. */
export const UPSTREAM_CREDENTIALS = stateKey<Record<string, boolean>>('authorization.upstreamCredentials');

/**
 * A request whose caller must first link an upstream account (backendAuth `oauth`), on a route whose backend is
 * MCP: instead of refusing the HTTP request, the policy records this and lets the MCP backend answer. The backend
 * opens the session without connecting its targets and answers every other request with the JSON-RPC error
 * URLElicitationRequiredError (-32042, MCP 2025-11-25) carrying the login URL; once the user linked, the next
 * request connects the targets. Never carries a token: the URL holds the login's single-use state only.
 */
export interface UpstreamLinkRequired {
  /** The link's name (`backendAuth.oauth.name`). */
  link: string;
  /** Where the user signs in to the upstream's authorization server. */
  loginUrl: string;
  /** The refusal's text, naming the URL. */
  message: string;
}

/** Request variable: set by a per-user backendAuth that deferred its link refusal to the MCP backend. */
export const UPSTREAM_LINK_REQUIRED = stateKey<UpstreamLinkRequired>('backendAuth.linkRequired');
