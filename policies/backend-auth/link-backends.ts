import type { Redis } from 'ioredis';
import { BoundedMap } from '../../core/state/bounded-map.ts';
import { lazy } from '../../core/lazy.ts';

/** One stored link: the sealed tokens (base64) and what the admin view shows. Serializable. */
export interface StoredLink {
  /** AES-256-GCM of the JSON tokens: iv (12 bytes) | tag (16 bytes) | ciphertext, bound to link and subject (AAD). */
  sealed: string;
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

/**
 * Where links and logins in progress live: this process's memory, or Redis (shared by every replica and worker
 * that names the same URL and prefix). Holds only sealed tokens; sealing is the caller's.
 */
export interface LinkBackend {
  /** Names the backend, so that stores configured alike are one. */
  readonly id: string;
  get(link: string, subject: string): Promise<StoredLink | undefined>;
  set(link: string, subject: string, stored: StoredLink): Promise<void>;
  delete(link: string, subject: string): Promise<boolean>;
  list(): Promise<Array<{ link: string; subject: string; stored: StoredLink }>>;
  putLogin(state: string, login: PendingLogin): Promise<void>;
  /** The login `state` names, removed in the same step: a second take finds nothing. */
  takeLogin(state: string): Promise<PendingLogin | undefined>;
  peekLogin(state: string): Promise<PendingLogin | undefined>;
  /** The pending login state of a (link, user), so that calls before the login reuse one login URL. */
  pendingOf(link: string, subject: string): Promise<string | undefined>;
  setPendingOf(link: string, subject: string, state: string, ttlMs: number): Promise<void>;
  close(): Promise<void>;
}

const MAX_LINKS = 100_000;
const MAX_PENDING = 10_000;

export class MemoryLinkBackend implements LinkBackend {
  readonly id = 'memory';
  private readonly links = new BoundedMap<string, StoredLink>(MAX_LINKS);
  private readonly logins = new BoundedMap<string, PendingLogin>(MAX_PENDING);
  private readonly pending = new BoundedMap<string, string>(MAX_PENDING);

  async get(link: string, subject: string) {
    return this.links.get(`${link}\n${subject}`);
  }
  async set(link: string, subject: string, stored: StoredLink) {
    this.links.set(`${link}\n${subject}`, stored);
  }
  async delete(link: string, subject: string) {
    return this.links.delete(`${link}\n${subject}`);
  }
  async list() {
    return [...this.links.entries()].map(([k, stored]) => {
      const [link, subject] = k.split('\n');
      return { link, subject, stored };
    });
  }
  async putLogin(state: string, login: PendingLogin) {
    this.logins.set(state, login);
  }
  async takeLogin(state: string) {
    const login = this.logins.peek(state);
    this.logins.delete(state);
    return login;
  }
  async peekLogin(state: string) {
    return this.logins.peek(state);
  }
  async pendingOf(link: string, subject: string) {
    return this.pending.get(`${link}\n${subject}`);
  }
  async setPendingOf(link: string, subject: string, state: string) {
    this.pending.set(`${link}\n${subject}`, state);
  }
  async close() {}
}

/** ioredis weighs ~15 MiB loaded: only a config with a Redis link store loads it. */
const ioredis = lazy<typeof import('ioredis')>('ioredis');
/** The longest a Redis command may take before the call fails closed. */
const COMMAND_TIMEOUT_MS = 2000;
/** SCAN rounds the admin listing makes at most (each up to 1000 keys). */
const MAX_SCAN_ROUNDS = 1000;

/** Links in Redis: `<prefix>link:<link>:<subject>` (JSON), logins `<prefix>login:<state>` (expiring, taken with GETDEL). */
export class RedisLinkBackend implements LinkBackend {
  readonly id: string;
  private readonly client: Redis;
  private readonly prefix: string;

  constructor(url: string, prefix: string) {
    this.id = `redis ${url} ${prefix}`;
    this.prefix = prefix;
    // disconnectTimeout: ioredis's wait for the socket to close on disconnect, a timer left running (2 s by default)
    // when the socket had already closed; it kept a closing gateway's process up.
    this.client = new (ioredis().Redis)(url, { lazyConnect: false, maxRetriesPerRequest: 1, commandTimeout: COMMAND_TIMEOUT_MS, enableOfflineQueue: true, disconnectTimeout: 100 });
    // Errors surface on the commands (the call fails closed); the connection retries on its own.
    this.client.on('error', () => {});
  }

  private linkKey(link: string, subject: string) {
    return `${this.prefix}link:${link}:${encodeURIComponent(subject)}`;
  }

  async get(link: string, subject: string) {
    const v = await this.client.get(this.linkKey(link, subject));
    return v === null ? undefined : (JSON.parse(v) as StoredLink);
  }
  async set(link: string, subject: string, stored: StoredLink) {
    await this.client.set(this.linkKey(link, subject), JSON.stringify(stored));
  }
  async delete(link: string, subject: string) {
    return (await this.client.del(this.linkKey(link, subject))) > 0;
  }
  async list() {
    const out: Array<{ link: string; subject: string; stored: StoredLink }> = [];
    let cursor = '0';
    for (let round = 0; round < MAX_SCAN_ROUNDS; round++) {
      const [next, keys] = await this.client.scan(cursor, 'MATCH', `${this.prefix}link:*`, 'COUNT', 1000);
      const values = keys.length > 0 ? await this.client.mget(...keys) : [];
      keys.forEach((k, i) => {
        const v = values[i];
        if (v === null || v === undefined) return;
        const [link, subject] = k.slice(this.prefix.length + 'link:'.length).split(':');
        out.push({ link, subject: decodeURIComponent(subject), stored: JSON.parse(v) as StoredLink });
      });
      cursor = next;
      if (cursor === '0') break;
    }
    return out;
  }
  async putLogin(state: string, login: PendingLogin) {
    await this.client.set(`${this.prefix}login:${state}`, JSON.stringify(login), 'PX', Math.max(1, login.expiresAt - Date.now()));
  }
  async takeLogin(state: string) {
    const v = await this.client.getdel(`${this.prefix}login:${state}`);
    return v === null ? undefined : (JSON.parse(v) as PendingLogin);
  }
  async peekLogin(state: string) {
    const v = await this.client.get(`${this.prefix}login:${state}`);
    return v === null ? undefined : (JSON.parse(v) as PendingLogin);
  }
  async pendingOf(link: string, subject: string) {
    return (await this.client.get(`${this.prefix}pending:${link}:${encodeURIComponent(subject)}`)) ?? undefined;
  }
  async setPendingOf(link: string, subject: string, state: string, ttlMs: number) {
    await this.client.set(`${this.prefix}pending:${link}:${encodeURIComponent(subject)}`, state, 'PX', Math.max(1, ttlMs));
  }
  async close() {
    this.client.disconnect();
  }
}
