import { ErrorCodes, GatewayError } from '../../../errors.ts';
import type { RequestContext } from '../../../pipeline/index.ts';
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
import { deferTargets } from './common.ts';
import { InputBridge } from './input-bridge.ts';

/** The client the gateway is to its 2025-era targets on behalf of 2026-07-28 clients. */
const INTERNAL_CLIENT = { name: 'portcullis', version: '0.1.0' };
/** The client capabilities a 2025-era target may ask a 2026-07-28 client for (through the input bridge). */
const ASKABLE = ['sampling', 'elicitation', 'roots'] as const;

/**
 * What an internal session declares upstream for a caller's declared capabilities: those of them a target may ask
 * for, each as its base form (targets decide what they offer from them, e.g. tools that need sampling).
 */
function upstreamCapabilities(declared: Readonly<Record<string, unknown>> | undefined): Record<string, unknown> {
  return Object.fromEntries(ASKABLE.filter((k) => declared !== undefined && Object.hasOwn(declared, k)).map((k) => [k, {}]));
}

/**
 * The upstream sessions 2026-07-28 requests are served on. Such a request has no session of its own, but a
 * 2025-era target needs its `initialize` handshake: the gateway keeps one internal session per caller identity
 * (so that `backendAuth.passthrough` sends each caller's own credential, and one caller's upstream state is never
 * another's), opened on the first request from the warm pool or `stdio.shared` like any session, and closed
 * after `idleMs` without requests. They are not client sessions: no id is handed out, the session store and its
 * limits do not count them, and `maxSessions` bounds how many identities hold one at a time.
 */
interface Entry {
  owner: string;
  session?: Session;
  opening?: Promise<Session>;
  last: number;
  active: number;
}

export class ModernSessions {
  /** By caller identity and the askable capabilities it declares (at most 8 per caller). */
  private readonly byOwner = new Map<string, Entry>();
  /** The key of the entry each session was opened for: pin() finds it without walking every caller's entry. */
  private readonly keyOf = new WeakMap<Session, string>();
  private readonly sweeper: NodeJS.Timeout;
  private readonly listeners = new Map<string, Set<Listener>>();
  /** Listen streams per (caller, resource URI): the upstream subscription is made by the first. */
  private readonly subscribed = new Map<string, number>();
  private closed = false;
  /** Calls of 2026-07-28 clients kept open for their input-required retries. */
  readonly bridge = new InputBridge();
  private readonly env: SessionEnv;
  private readonly idleMs: number;
  private readonly max: number;

  constructor(env: SessionEnv, idleMs: number, max: number) {
    this.env = env;
    this.idleMs = idleMs;
    this.max = max;
    this.sweeper = setInterval(() => this.sweep(), Math.max(25, Math.min(30_000, Math.floor(idleMs / 4)))).unref();
  }

  /**
   * Runs `fn` on the caller's internal session for the capabilities it declared (`clientCapabilities` of its
   * envelope), opening it first when needed.
   */
  async with<T>(ctx: RequestContext, fn: (session: Session) => Promise<T>, declared?: Readonly<Record<string, unknown>>): Promise<T> {
    const owner = ownerOf(ctx.identity);
    const capabilities = upstreamCapabilities(declared);
    const key = `${owner}\u0000${Object.keys(capabilities).join(',')}`;
    let entry = this.byOwner.get(key);
    if (entry?.session?.closed) {
      this.byOwner.delete(key);
      entry = undefined;
    }
    if (!entry) {
      if (this.closed) throw new GatewayError(ErrorCodes.SHUTTING_DOWN, 'the MCP route is shutting down');
      if (this.byOwner.size >= this.max && !this.evictIdle()) {
        ctx.log.warn({ route: this.env.routeName, code: ErrorCodes.MCP_SESSION_LIMIT, open: this.byOwner.size }, 'MCP upstream session limit reached for 2026-07-28 requests');
        throw new GatewayError(ErrorCodes.MCP_SESSION_LIMIT, `route "${this.env.routeName}" already serves ${this.max} callers' upstream sessions (maxSessions): try again shortly`, { status: 503 });
      }
      const created: Entry = { owner, last: Date.now(), active: 0 };
      created.opening = this.open(ctx, capabilities).then(
        (s) => {
          created.session = s;
          created.opening = undefined;
          this.keyOf.set(s, key);
          return s;
        },
        (err) => {
          if (this.byOwner.get(key) === created) this.byOwner.delete(key);
          throw err;
        },
      );
      this.byOwner.set(key, created);
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

  /**
   * Keeps `session` from closing for idleness (one of its calls waits for its caller's input-required retry)
   * until the returned release is called.
   */
  pin(session: Session): () => void {
    const key = this.keyOf.get(session);
    const e = key === undefined ? undefined : this.byOwner.get(key);
    if (!e || e.session !== session) return () => {};
    e.active++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      e.active--;
      e.last = Date.now();
    };
  }

  private async open(ctx: RequestContext, capabilities: Record<string, unknown>): Promise<Session> {
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
    // Upstream, the session declares what its 2026-07-28 caller may be asked: a 2025-era target's sampling,
    // elicitation or roots request during a call becomes an input-required result of that call when the caller
    // declared the capability in the call's envelope, and is refused otherwise (serve/input-bridge.ts); outside
    // a call it is refused.
    await session.start({ protocolVersion: LATEST_PROTOCOL_VERSION, capabilities, clientInfo: INTERNAL_CLIENT, era: 'modern' }, deferTargets(ctx));
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
  async listen(ctx: RequestContext, listener: Listener, declared?: Readonly<Record<string, unknown>>): Promise<() => void> {
    const owner = ownerOf(ctx.identity);
    // Counted from here, before the first await: concurrent listens of one caller all see each other against the
    // per-caller limit (serve/listen.ts checks `listenCount` just before calling this).
    let set = this.listeners.get(owner);
    if (!set) this.listeners.set(owner, (set = new Set()));
    set.add(listener);
    const counted: string[] = [];
    const stop = (): void => {
      for (const key of counted) {
        const n = (this.subscribed.get(key) ?? 1) - 1;
        if (n > 0) this.subscribed.set(key, n);
        else this.subscribed.delete(key);
      }
      counted.length = 0;
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(owner) === set) this.listeners.delete(owner);
    };
    try {
      // 2025 targets send resource updates only for what their session subscribed to: subscribe once per URI.
      await this.with(ctx, async (session) => {
        for (const uri of listener.uris ?? []) {
          const key = `${owner}\u0000${uri}`;
          const n = this.subscribed.get(key) ?? 0;
          this.subscribed.set(key, n + 1);
          counted.push(key);
          if (n > 0) continue;
          const owned = session.catalog.resolveUri(uri);
          const conn = owned ? session.targets.get(owned.target)?.conn : undefined;
          if (!owned || !conn || conn.closed || conn.init.discover || !conn.init.capabilities.resources?.subscribe) continue;
          await conn.request('resources/subscribe', { uri: owned.original }).result.catch(() => undefined);
        }
      }, declared);
    } catch (err) {
      stop();
      throw err;
    }
    return stop;
  }

  /** Ends every listen stream gracefully (shutdown, reload). */
  drain(): void {
    for (const set of [...this.listeners.values()]) for (const l of [...set]) l.close();
  }

  private idle(e: Entry): boolean {
    return e.session !== undefined && e.active === 0 && !this.listeners.has(e.owner);
  }

  private evictIdle(): boolean {
    let oldest: [string, Entry] | undefined;
    for (const e of this.byOwner) if (this.idle(e[1]) && (!oldest || e[1].last < oldest[1].last)) oldest = e;
    if (!oldest) return false;
    this.byOwner.delete(oldest[0]);
    void oldest[1].session!.close('idle');
    return true;
  }

  private sweep(now = Date.now()): void {
    for (const [key, e] of this.byOwner) {
      if (this.idle(e) && now - e.last > this.idleMs) {
        this.byOwner.delete(key);
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
    this.bridge.close();
    clearInterval(this.sweeper);
    const all = [...this.byOwner.values()];
    this.byOwner.clear();
    await Promise.allSettled(all.map(async (e) => (e.session ?? (await e.opening))?.close('shutdown')));
  }
}
