import { ErrorCodes, GatewayError } from '../../errors.ts';
import type { Logger } from '../../telemetry/logger.ts';
import type { CloseReason, Session } from './session.ts';
import { ProcessBudget } from './upstream/processes.ts';

/** How many client sessions a route holds open. */
export interface SessionLimits {
  maxSessions: number;
  maxSessionsPerIdentity: number;
  /** Requests (each a pending answer or SSE stream) in flight at once in one session. */
  maxRequestsPerSession: number;
  /** Requests in flight at once across all the sessions of one identity. */
  maxRequestsPerIdentity: number;
}

/** A place taken for a session being opened: `commit` it once the session started, else `cancel` it. */
export interface Reservation {
  commit(session: Session): void;
  cancel(): void;
}

/**
 * The open sessions of one MCP route. It lives in the gateway's persistent state, so a reload hands open sessions
 * to the new runtime; it is shared by reference count and closes its sessions when the last runtime using it goes.
 * It also holds what must count across reloads: sessions per identity, and each stdio target's running processes.
 */
export class SessionStore {
  private readonly sessions = new Map<string, Session>();
  /** Open and opening sessions per owner (see `ownerOf`). */
  private readonly perOwner = new Map<string, number>();
  private opening = 0;
  private readonly budgets = new Map<string, ProcessBudget>();
  /** Requests in flight per owner; an owner with none has no entry (bounded by the open sessions' owners). */
  private readonly activePerOwner = new Map<string, number>();
  /** Legacy SSE sessions end with their stream; everything else with DELETE or idle expiry. */
  private refs = 0;
  /** Set when the last runtime let go: sessions still being opened then must not outlive the store. */
  private released = false;
  private sweeper?: NodeJS.Timeout;
  idleTimeoutMs: number;
  limits: SessionLimits;

  constructor(idleTimeoutMs: number, limits: SessionLimits) {
    this.idleTimeoutMs = idleTimeoutMs;
    this.limits = limits;
  }

  get size(): number {
    return this.sessions.size;
  }

  /** The session `id`, only for its owner: for anyone else it does not exist. */
  get(id: string, owner: string): Session | undefined {
    const session = this.sessions.get(id);
    return session && session.owner === owner ? session : undefined;
  }

  /** Open and opening sessions of one owner. */
  countOf(owner: string): number {
    return this.perOwner.get(owner) ?? 0;
  }

  /**
   * Takes a place for a session `owner` is opening, or throws PCL_ERR_MCP_SESSION_LIMIT (429 for the identity's
   * limit, 503 for the route's) without touching any open session.
   */
  reserve(owner: string, route: string, logger: Logger): Reservation {
    const { maxSessions, maxSessionsPerIdentity } = this.limits;
    const mine = this.countOf(owner);
    let refusal: GatewayError | undefined;
    if (this.sessions.size + this.opening >= maxSessions) {
      refusal = new GatewayError(
        ErrorCodes.MCP_SESSION_LIMIT,
        `route "${route}" already has ${maxSessions} open MCP sessions (maxSessions): try again when one ends`,
        { status: 503 },
      );
    } else if (mine >= maxSessionsPerIdentity) {
      refusal = new GatewayError(
        ErrorCodes.MCP_SESSION_LIMIT,
        `this identity already has ${maxSessionsPerIdentity} open MCP sessions on route "${route}" (maxSessionsPerIdentity): close one (DELETE) before opening another`,
        { status: 429 },
      );
    }
    if (refusal) {
      logger.warn({ route, code: refusal.code, status: refusal.status, open: this.sessions.size, ofIdentity: mine }, 'MCP session limit reached');
      throw refusal;
    }
    this.opening++;
    this.perOwner.set(owner, mine + 1);
    let settled = false;
    const settle = () => {
      if (settled) return false;
      settled = true;
      this.opening--;
      return true;
    };
    const forget = () => {
      const n = this.countOf(owner) - 1;
      if (n > 0) this.perOwner.set(owner, n);
      else this.perOwner.delete(owner);
    };
    return {
      commit: (session) => {
        if (!settle()) return;
        if (this.released) {
          forget();
          // The session finished starting while its gateway (or its route) was going away: nothing would ever
          // close it, and its stdio processes would outlive the gateway.
          void session.close('shutdown');
          throw new GatewayError(ErrorCodes.SHUTTING_DOWN, 'the MCP route is shutting down: the new session was closed');
        }
        this.sessions.set(session.id, session);
        session.onClose = () => {
          if (this.sessions.get(session.id) === session) this.sessions.delete(session.id);
          forget();
        };
        session.opened();
      },
      cancel: () => {
        if (settle()) forget();
      },
    };
  }

  /** The process budget of one stdio target, kept across reloads; `limit` is the current config's. */
  processBudget(target: string, limit: number): ProcessBudget {
    let budget = this.budgets.get(target);
    if (!budget) this.budgets.set(target, (budget = new ProcessBudget(limit)));
    budget.limit = limit;
    return budget;
  }

  /**
   * Admits one more request (a pending answer, maybe an SSE stream) in `session`, or throws 429
   * PCL_ERR_MCP_STREAM_LIMIT when the session or its identity already has as many in flight as allowed: pending
   * streams cannot pile up without bound and slow every other request. Returns the release, to call once.
   */
  admitRequest(session: Session, route: string): () => void {
    const { maxRequestsPerSession, maxRequestsPerIdentity } = this.limits;
    const owner = session.owner;
    const mine = this.activePerOwner.get(owner) ?? 0;
    if (session.active >= maxRequestsPerSession || mine >= maxRequestsPerIdentity) {
      const which = session.active >= maxRequestsPerSession ? `this session already has ${maxRequestsPerSession} requests in flight (maxRequestsPerSession)` : `this identity already has ${maxRequestsPerIdentity} requests in flight across its sessions (maxRequestsPerIdentity)`;
      throw new GatewayError(ErrorCodes.MCP_STREAM_LIMIT, `route "${route}": ${which}; wait for an answer before sending more`);
    }
    this.activePerOwner.set(owner, mine + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.activePerOwner.get(owner) ?? 1) - 1;
      if (left <= 0) this.activePerOwner.delete(owner);
      else this.activePerOwner.set(owner, left);
    };
  }

  acquire(idleTimeoutMs: number, limits: SessionLimits): void {
    this.refs++;
    this.released = false;
    this.idleTimeoutMs = idleTimeoutMs;
    this.limits = limits;
    if (this.sweeper) return;
    this.sweeper = setInterval(() => this.sweep(), Math.max(25, Math.min(30_000, Math.floor(idleTimeoutMs / 4)))).unref();
  }

  /** Closes sessions with no open exchange and no activity within the idle timeout. */
  sweep(now = Date.now()): void {
    for (const s of this.sessions.values()) {
      if (s.active === 0 && now - s.lastActivity > this.idleTimeoutMs) void s.close('idle');
    }
  }

  /** Ends every open stream (shutdown): sessions stay until the store is released. */
  all(): Session[] {
    return [...this.sessions.values()];
  }

  async release(): Promise<boolean> {
    if (--this.refs > 0) return false;
    this.released = true;
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    await Promise.allSettled([...this.sessions.values()].map((s) => s.close('shutdown')));
    return true;
  }
}
