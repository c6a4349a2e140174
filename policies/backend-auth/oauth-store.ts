import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { stateKey } from '../../core/state/index.ts';
import type { CredentialLinkInfo, CredentialLinkSource } from '../../core/pipeline/index.ts';
import { credentialChannel, publish } from '../../core/telemetry/index.ts';
import { MemoryLinkBackend, RedisLinkBackend, type LinkBackend, type PendingLogin } from './link-backends.ts';
import type { OAuthLinkRuntime } from './oauth.ts';

export type { PendingLogin } from './link-backends.ts';

/** The tokens of one link, as they are held in memory only while in use (stored encrypted). */
export interface LinkTokens {
  accessToken: string;
  refreshToken?: string;
  /** Epoch ms; undefined when the authorization server gave no `expires_in`. */
  expiresAt?: number;
}

const aad = (link: string, subject: string) => Buffer.from(`${link}\n${subject}`);

/**
 * The gateway's per-user links (kept in gateway state, so it survives reloads): tokens sealed per (link, user) in
 * the link's backend (this process's memory, or Redis), logins in progress by `state`, and each link's runtime (its
 * client settings and key, rebuilt by every reload). The admin API lists and revokes links through it and never
 * sees a token.
 */
export class OAuthLinks implements CredentialLinkSource {
  readonly runtimes = new Map<string, OAuthLinkRuntime>();
  readonly memory = new MemoryLinkBackend();
  private readonly redis = new Map<string, { backend: RedisLinkBackend; refs: number }>();

  /** The Redis backend for (url, prefix), shared by every link that names it; `release` when done. */
  acquireRedis(url: string, prefix: string): { backend: LinkBackend; release: () => Promise<void> } {
    const id = `${url}\n${prefix}`;
    let entry = this.redis.get(id);
    if (!entry) this.redis.set(id, (entry = { backend: new RedisLinkBackend(url, prefix), refs: 0 }));
    entry.refs++;
    const e = entry;
    let released = false;
    return {
      backend: e.backend,
      release: async () => {
        if (released) return;
        released = true;
        if (--e.refs === 0) {
          this.redis.delete(id);
          await e.backend.close();
        }
      },
    };
  }

  private backends(): LinkBackend[] {
    const all = new Map<string, LinkBackend>([[this.memory.id, this.memory]]);
    for (const rt of this.runtimes.values()) all.set(rt.backend.id, rt.backend);
    return [...all.values()];
  }

  private runtime(link: string): OAuthLinkRuntime {
    const rt = this.runtimes.get(link);
    if (!rt) throw new Error(`no oauth link named ${link}`);
    return rt;
  }

  async get(link: string, subject: string): Promise<LinkTokens | undefined> {
    const rt = this.runtime(link);
    const stored = await rt.backend.get(link, subject);
    if (!stored) return undefined;
    try {
      const sealed = Buffer.from(stored.sealed, 'base64');
      const decipher = createDecipheriv('aes-256-gcm', rt.encryptionKey, sealed.subarray(0, 12));
      decipher.setAAD(aad(link, subject));
      decipher.setAuthTag(sealed.subarray(12, 28));
      const plain = Buffer.concat([decipher.update(sealed.subarray(28)), decipher.final()]);
      return JSON.parse(plain.toString('utf8')) as LinkTokens;
    } catch {
      // Sealed under another key (the config's encryptionKey changed), for another user, or damaged: link again.
      await rt.backend.delete(link, subject);
      return undefined;
    }
  }

  async set(link: string, subject: string, tokens: LinkTokens, refreshed: boolean): Promise<void> {
    const rt = this.runtime(link);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', rt.encryptionKey, iv);
    cipher.setAAD(aad(link, subject));
    const ct = Buffer.concat([cipher.update(JSON.stringify(tokens), 'utf8'), cipher.final()]);
    const previous = refreshed ? await rt.backend.get(link, subject) : undefined;
    const now = Date.now();
    await rt.backend.set(link, subject, {
      sealed: Buffer.concat([iv, cipher.getAuthTag(), ct]).toString('base64'),
      linkedAt: previous?.linkedAt ?? now,
      refreshedAt: refreshed ? now : undefined,
      expiresAt: tokens.expiresAt,
      refreshable: tokens.refreshToken !== undefined,
    });
  }

  /** Whether the user holds a link (without opening it). */
  async has(link: string, subject: string): Promise<boolean> {
    return (await this.runtime(link).backend.get(link, subject)) !== undefined;
  }

  async delete(link: string, subject: string): Promise<boolean> {
    return this.runtime(link).backend.delete(link, subject);
  }

  /** A login for (link, user): the pending one while it has time left, else a new one. */
  async startLogin(login: Omit<PendingLogin, 'verifier' | 'expiresAt'>, lifetimeMs: number): Promise<{ state: string; login: PendingLogin }> {
    const backend = this.runtime(login.link).backend;
    const now = Date.now();
    const existing = await backend.pendingOf(login.link, login.subject);
    const found = existing === undefined ? undefined : await backend.peekLogin(existing);
    if (existing !== undefined && found && found.expiresAt - Math.min(60_000, lifetimeMs / 2) > now && found.redirectUri === login.redirectUri) return { state: existing, login: found };
    const state = randomBytes(32).toString('base64url');
    const fresh: PendingLogin = { ...login, verifier: randomBytes(32).toString('base64url'), expiresAt: now + lifetimeMs };
    await backend.putLogin(state, fresh);
    await backend.setPendingOf(login.link, login.subject, state, lifetimeMs);
    return { state, login: fresh };
  }

  /** Takes the login `state` names, once, from whichever backend holds it: a second callback finds nothing. */
  async takeLogin(state: string): Promise<PendingLogin | undefined> {
    for (const backend of this.backends()) {
      const login = await backend.takeLogin(state);
      if (login) return login.expiresAt > Date.now() ? login : undefined;
    }
    return undefined;
  }

  async list(): Promise<CredentialLinkInfo[]> {
    const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
    const all = (await Promise.all(this.backends().map((b) => b.list()))).flat();
    return all
      .map(({ link, subject, stored: l }) => ({ link, subject, linkedAt: iso(l.linkedAt)!, refreshedAt: iso(l.refreshedAt), expiresAt: iso(l.expiresAt), refreshable: l.refreshable }))
      .sort((a, b) => a.link.localeCompare(b.link) || a.subject.localeCompare(b.subject));
  }

  async revoke(link: string, subject: string): Promise<boolean> {
    const rt = this.runtimes.get(link);
    const had = rt ? await rt.backend.delete(link, subject) : (await Promise.all(this.backends().map((b) => b.delete(link, subject)))).some(Boolean);
    if (had) publish(credentialChannel, () => ({ event: 'revoke' as const, link, subject, by: 'admin' as const }));
    return had;
  }
}

/** The gateway's link store, in gateway state (global scope: links are per user, whatever route reaches them). */
export const OAUTH_LINKS = stateKey<OAuthLinks>('backendAuth.oauth.links');
