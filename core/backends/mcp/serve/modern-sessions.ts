import { ErrorCodes, GatewayError } from '../../../errors.ts';
import type { RequestContext } from '../../../pipeline/types.ts';
import { LATEST_PROTOCOL_VERSION } from '../versions.ts';
import type { JsonRpcMessage } from '../../../protocol/jsonrpc.ts';
import { Session, type SessionEnv } from '../session.ts';

/** An open `subscriptions/listen` stream: what its caller's targets announce goes to `deliver`. */
export interface Listener {
  deliver(message: JsonRpcMessage): void;
  /** Ends the stream gracefully (the gateway drains). */
  close(): void;
  /** Resources (client-visible URIs) whose updates it asked for. */
  uris?: readonly string[];
}
import { ownerOf } from './guard.ts';

/** The client the gateway is to its 2025-era targets on behalf of 2026-07-28 clients. */
const INTERNAL_CLIENT = { name: 'portcullis', version: '0.1.0' };

/**
 * The upstream sessions 2026-07-28 requests are served on. Such a request has no session of its own, but a
 * 2025-era target needs its `initialize` handshake: the gateway keeps one internal session per caller identity
 * (so that `backendAuth.passthrough` sends each caller's own credential, and one caller's upstream state is never
 * another's), opened on the first request from the warm pool or `stdio.shared` like any session, and closed
 * after `idleMs` without requests. They are not client sessions: no id is handed out, the session store and its
 * limits do not count them, and `maxSessions` bounds how many identities hold one at a time.
 */
export class ModernSessions {
  private readonly byOwner = new Map<string, { session?: Session; opening?: Promise<Session>; last: number; active: number }>();
  private readonly sweeper: NodeJS.Timeout;
  private readonly listeners = new Map<string, Set<Listener>>();
  /** Listen streams per (caller, resource URI): the upstream subscription is made by the first. */
  private readonly subscribed = new Map<string, number>();
  private closed = false;
  private readonly env: SessionEnv;
  private readonly idleMs: number;
  private readonly max: number;

  constructor(env: SessionEnv, idleMs: number, max: number) {
    this.env = env;
    this.idleMs = idleMs;
    this.max = max;
    this.sweeper = setInterval(() => this.sweep(), Math.max(25, Math.min(30_000, Math.floor(idleMs / 4)))).unref();
  }

  /** Runs `fn` on the caller's internal session, opening it first when needed. */
  async with<T>(ctx: RequestContext, fn: (session: Session) => Promise<T>): Promise<T> {
    const owner = ownerOf(ctx.identity);
    let entry = this.byOwner.get(owner);
    if (entry?.session?.closed) {
      this.byOwner.delete(owner);
      entry = undefined;
    }
    if (!entry) {
      if (this.closed) throw new GatewayError(ErrorCodes.SHUTTING_DOWN, 'the MCP route is shutting down');
      if (this.byOwner.size >= this.max && !this.evictIdle()) {
        ctx.log.warn({ route: this.env.routeName, code: ErrorCodes.MCP_SESSION_LIMIT, open: this.byOwner.size }, 'MCP upstream session limit reached for 2026-07-28 requests');
        throw new GatewayError(ErrorCodes.MCP_SESSION_LIMIT, `route "${this.env.routeName}" already serves ${this.max} callers' upstream sessions (maxSessions): try again shortly`, { status: 503 });
      }
      const created: { session?: Session; opening?: Promise<Session>; last: number; active: number } = { last: Date.now(), active: 0 };
      created.opening = this.open(ctx).then(
        (s) => {
          created.session = s;
          created.opening = undefined;
          return s;
        },
        (err) => {
          if (this.byOwner.get(owner) === created) this.byOwner.delete(owner);
          throw err;
        },
      );
      this.byOwner.set(owner, created);
      entry = created;
    }
    const session = entry.session ?? (await entry.opening!);
    session.clientHeaders = ctx.clientHeaders;
    entry.active++;
    entry.last = Date.now();
    try {
      return await fn(session);
    } finally {
      entry.active--;
      entry.last = Date.now();
    }
  }

  private async open(ctx: RequestContext): Promise<Session> {
    const session = new Session(this.env);
    const owner = ownerOf(ctx.identity);
    session.owner = owner;
    // What the targets announce on their own (list changes) goes to the caller's listen streams.
    session.attachGeneral((m) => {
      for (const l of this.listeners.get(owner) ?? []) l.deliver(m);
      return true;
    });
    session.subject = ctx.identity?.subject;
    session.clientHeaders = ctx.clientHeaders;
    session.protocolVersion = LATEST_PROTOCOL_VERSION;
    // No client capabilities upstream: a 2025-era target's sampling, elicitation or roots request is refused
    // (a 2026-07-28 client is never asked anything outside the result of its own request).
    await session.start({ protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: INTERNAL_CLIENT, era: 'modern' });
    if (this.closed) {
      await session.close('shutdown');
      throw new GatewayError(ErrorCodes.SHUTTING_DOWN, 'the MCP route is shutting down');
    }
    return session;
  }

  /** Open listen streams of one caller. */
  listenCount(owner: string): number {
    return this.listeners.get(owner)?.size ?? 0;
  }

  /** Registers a listen stream on the caller's internal session (opened if need be); returns its removal. */
  async listen(ctx: RequestContext, listener: Listener): Promise<() => void> {
    const owner = ownerOf(ctx.identity);
    // 2025 targets send resource updates only for what their session subscribed to: subscribe once per URI.
    await this.with(ctx, async (session) => {
      for (const uri of listener.uris ?? []) {
        const key = `${owner}\u0000${uri}`;
        const n = this.subscribed.get(key) ?? 0;
        this.subscribed.set(key, n + 1);
        if (n > 0) continue;
        const owned = session.catalog.resolveUri(uri);
        const conn = owned ? session.targets.get(owned.target)?.conn : undefined;
        if (!owned || !conn || conn.closed || conn.init.discover || !conn.init.capabilities.resources?.subscribe) continue;
        await conn.request('resources/subscribe', { uri: owned.original }).result.catch(() => undefined);
      }
    });
    let set = this.listeners.get(owner);
    if (!set) this.listeners.set(owner, (set = new Set()));
    set.add(listener);
    return () => {
      for (const uri of listener.uris ?? []) {
        const key = `${owner}\u0000${uri}`;
        const n = (this.subscribed.get(key) ?? 1) - 1;
        if (n > 0) this.subscribed.set(key, n);
        else this.subscribed.delete(key);
      }
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(owner) === set) this.listeners.delete(owner);
    };
  }

  /** Ends every listen stream gracefully (shutdown, reload). */
  drain(): void {
    for (const set of [...this.listeners.values()]) for (const l of [...set]) l.close();
  }

  private idle(owner: string, e: { session?: Session; active: number }): boolean {
    return e.session !== undefined && e.active === 0 && !this.listeners.has(owner);
  }

  private evictIdle(): boolean {
    let oldest: [string, { session?: Session; last: number; active: number }] | undefined;
    for (const e of this.byOwner) if (this.idle(e[0], e[1]) && (!oldest || e[1].last < oldest[1].last)) oldest = e;
    if (!oldest) return false;
    this.byOwner.delete(oldest[0]);
    void oldest[1].session!.close('idle');
    return true;
  }

  private sweep(now = Date.now()): void {
    for (const [owner, e] of this.byOwner) {
      if (this.idle(owner, e) && now - e.last > this.idleMs) {
        this.byOwner.delete(owner);
        void e.session?.close('idle');
      }
    }
  }

  get size(): number {
    return this.byOwner.size;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.drain();
    clearInterval(this.sweeper);
    const all = [...this.byOwner.values()];
    this.byOwner.clear();
    await Promise.allSettled(all.map(async (e) => (e.session ?? (await e.opening))?.close('shutdown')));
  }
}
