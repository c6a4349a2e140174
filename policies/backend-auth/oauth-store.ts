import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { BoundedMap } from '../../core/state/bounded-map.ts';
import { stateKey } from '../../core/state/index.ts';
import type { CredentialLinkInfo, CredentialLinkSource } from '../../core/upstream/credential-links.ts';
import { credentialChannel, publish } from '../../core/telemetry/index.ts';
import type { OAuthLinkRuntime } from './oauth.ts';

/** The tokens of one link, as they are held in memory only while in use (stored encrypted). */
export interface LinkTokens {
  accessToken: string;
  refreshToken?: string;
  /** Epoch ms; undefined when the authorization server gave no `expires_in`. */
  expiresAt?: number;
}

interface StoredLink {
  /** AES-256-GCM of the JSON tokens: iv (12 bytes) | tag (16 bytes) | ciphertext, bound to link and subject (AAD). */
  sealed: Buffer;
  linkedAt: number;
  refreshedAt?: number;
  expiresAt?: number;
  refreshable: boolean;
}

/** A login in progress: what the callback needs, bound to the user and session that started it. Single use. */
export interface PendingLogin {
  link: string;
  subject: string;
  /** The client session (MCP session id) the login was started from, for the audit line. */
  session?: string;
  verifier: string;
  expiresAt: number;
  route: string;
  /** The redirect URI the authorization request named (the code is redeemed with the same). */
  redirectUri: string;
}

const MAX_LINKS = 100_000;
const MAX_PENDING = 10_000;

const aad = (link: string, subject: string) => Buffer.from(`${link}\n${subject}`);

/**
 * The per-user link store of the gateway process (kept in gateway state, so it survives reloads): encrypted tokens
 * by (link, user), logins in progress by `state`, and each link's runtime (its client settings, rebuilt by every
 * reload). Registered with the admin API, which lists and revokes links through it and never sees a token.
 */
export class OAuthLinks implements CredentialLinkSource {
  private readonly links = new BoundedMap<string, StoredLink>(MAX_LINKS);
  private readonly pending = new BoundedMap<string, PendingLogin>(MAX_PENDING);
  /** The pending `state` of each (link, user), so that repeated calls before the login reuse one login URL. */
  private readonly pendingOf = new Map<string, string>();
  readonly runtimes = new Map<string, OAuthLinkRuntime>();

  private keyOf(link: string): Buffer {
    const rt = this.runtimes.get(link);
    if (!rt) throw new Error(`no oauth link named ${link}`);
    return rt.encryptionKey;
  }

  get(link: string, subject: string): LinkTokens | undefined {
    const stored = this.links.get(`${link}\n${subject}`);
    if (!stored) return undefined;
    try {
      const key = this.keyOf(link);
      const iv = stored.sealed.subarray(0, 12);
      const tag = stored.sealed.subarray(12, 28);
      const decipher = createDecipheriv('aes-256-gcm', key, iv);
      decipher.setAAD(aad(link, subject));
      decipher.setAuthTag(tag);
      const plain = Buffer.concat([decipher.update(stored.sealed.subarray(28)), decipher.final()]);
      return JSON.parse(plain.toString('utf8')) as LinkTokens;
    } catch {
      // Sealed under another key (the config's encryptionKey changed) or damaged: the user links again.
      this.links.delete(`${link}\n${subject}`);
      return undefined;
    }
  }

  set(link: string, subject: string, tokens: LinkTokens, refreshed: boolean): void {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.keyOf(link), iv);
    cipher.setAAD(aad(link, subject));
    const ct = Buffer.concat([cipher.update(JSON.stringify(tokens), 'utf8'), cipher.final()]);
    const previous = this.links.peek(`${link}\n${subject}`);
    const now = Date.now();
    this.links.set(`${link}\n${subject}`, {
      sealed: Buffer.concat([iv, cipher.getAuthTag(), ct]),
      linkedAt: refreshed && previous ? previous.linkedAt : now,
      refreshedAt: refreshed ? now : undefined,
      expiresAt: tokens.expiresAt,
      refreshable: tokens.refreshToken !== undefined,
    });
  }

  /** Whether the user holds a link (without opening it). */
  has(link: string, subject: string): boolean {
    return this.links.has(`${link}\n${subject}`);
  }

  delete(link: string, subject: string): boolean {
    return this.links.delete(`${link}\n${subject}`);
  }

  /** A login for (link, user): the pending one if it has a minute left, else a new one. */
  startLogin(login: Omit<PendingLogin, 'verifier' | 'expiresAt'>, lifetimeMs: number): { state: string; login: PendingLogin } {
    const who = `${login.link}\n${login.subject}`;
    const now = Date.now();
    const existing = this.pendingOf.get(who);
    const found = existing === undefined ? undefined : this.pending.peek(existing);
    if (existing !== undefined && found && found.expiresAt - Math.min(60_000, lifetimeMs / 2) > now && found.redirectUri === login.redirectUri) return { state: existing, login: found };
    if (existing !== undefined) this.pending.delete(existing);
    const state = randomBytes(32).toString('base64url');
    const fresh: PendingLogin = { ...login, verifier: randomBytes(32).toString('base64url'), expiresAt: now + lifetimeMs };
    this.pending.set(state, fresh);
    this.pendingOf.set(who, state);
    if (this.pendingOf.size > MAX_PENDING) this.pendingOf.delete(this.pendingOf.keys().next().value!);
    return { state, login: fresh };
  }

  /** Takes the login `state` names, once: a second callback with it finds nothing. */
  takeLogin(state: string): PendingLogin | undefined {
    const login = this.pending.peek(state);
    if (!login) return undefined;
    this.pending.delete(state);
    const who = `${login.link}\n${login.subject}`;
    if (this.pendingOf.get(who) === state) this.pendingOf.delete(who);
    return login.expiresAt > Date.now() ? login : undefined;
  }

  async list(): Promise<CredentialLinkInfo[]> {
    const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
    return [...this.links.entries()].map(([key, l]) => {
      const [link, subject] = key.split('\n');
      return { link, subject, linkedAt: iso(l.linkedAt)!, refreshedAt: iso(l.refreshedAt), expiresAt: iso(l.expiresAt), refreshable: l.refreshable };
    }).sort((a, b) => a.link.localeCompare(b.link) || a.subject.localeCompare(b.subject));
  }

  async revoke(link: string, subject: string): Promise<boolean> {
    const had = this.delete(link, subject);
    if (had) publish(credentialChannel, () => ({ event: 'revoke' as const, link, subject, by: 'admin' as const }));
    return had;
  }
}

/** The process's link store, in gateway state (global scope: links are per user, whatever route reaches them). */
export const OAUTH_LINKS = stateKey<OAuthLinks>('backendAuth.oauth.links');
