import type { RequestContext } from '../pipeline/types.ts';
import { stateKey } from '../state/index.ts';

/**
 * Per-user upstream credential links (backendAuth `oauth`) as the admin server sees them: which users linked which
 * upstream accounts, and a way to revoke one. A store of links registers itself here when it is created; the admin
 * API lists and revokes through every registered store. Tokens never cross this interface.
 *
 * The registry is per process: with `workers > 1` and the memory store, each worker holds its own links and the
 * admin server (in the supervisor) sees none of them; a Redis store is shared and seen by any process that built it.
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

const sources = new Set<CredentialLinkSource>();

/** Registers a store of links; the returned function unregisters it. */
export function registerCredentialLinks(source: CredentialLinkSource): () => void {
  sources.add(source);
  return () => void sources.delete(source);
}

/** Every link of every registered store, sorted by link then subject. */
export async function listCredentialLinks(): Promise<CredentialLinkInfo[]> {
  const all = (await Promise.all([...sources].map((s) => s.list()))).flat();
  const seen = new Set<string>();
  return all
    .filter((l) => {
      const k = `${l.link}\n${l.subject}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    })
    .sort((a, b) => a.link.localeCompare(b.link) || a.subject.localeCompare(b.subject));
}

/** Revokes a link in every store that holds it; true when one did. */
export async function revokeCredentialLink(link: string, subject: string): Promise<boolean> {
  const results = await Promise.all([...sources].map((s) => s.revoke(link, subject)));
  return results.some(Boolean);
}

/**
 * Whether the caller of a request has a per-user upstream credential, by name (an oauth link's name, or
 * `identityMap` / `tokenExchange`): what authorization policies see as `input.upstreamCredentials` (Rego) and
 * `upstreamCredentials` (CEL). The route's backendAuth registers it in gateway state under its route scope; the
 * route's authorization policy asks it once per request, before its decision. Never carries a credential.
 */
export type UpstreamCredentialProbe = (ctx: RequestContext) => Record<string, boolean>;

/** The probe of a route's per-user backendAuth, by the route's scope. */
export const UPSTREAM_CREDENTIAL_PROBE = stateKey<UpstreamCredentialProbe>('backendAuth.credentialProbe');

/** This request's probe answer, set by the authorization step and read by the input builders. */
export const UPSTREAM_CREDENTIALS = stateKey<Record<string, boolean>>('authorization.upstreamCredentials');
