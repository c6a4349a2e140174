import { createHash } from 'node:crypto';
import { ErrorCodes, GatewayError } from '../../errors.ts';
import { BoundedMap } from '../../state/bounded-map.ts';
import type { Logger } from '../../telemetry/index.ts';
import type { CloseReason, Session } from './session.ts';
import type { SessionIds } from './session-id.ts';
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
  /** Issues sealed ids and rebuilds sessions other replicas opened (the current runtime's; see `acquire`). */
  private ids?: SessionIds;
  /**
   * Sessions their clients ended (DELETE), by a digest of the id: a sealed id stays valid after its session ends,
   * and without this a DELETE'd session would be rebuilt from its id on the next request. Bounded (oldest forgotten
   * first); per replica: another replica learns of a DELETE only when its own copy idles out (see README, Deploy).
   */
  private readonly ended = new BoundedMap<string, true>(20_000);
  /** Set when the gateway drains (SIGTERM): new sessions are refused so that clients open them elsewhere. */
  refusing = false;

  constructor(idleTimeoutMs: number, limits: SessionLimits) {
    this.idleTimeoutMs = idleTimeoutMs;
    this.limits = limits;
  }

  get size(): number {
    return this.sessions.size;
  }

  /**
   * The session `id`, only for its owner: for anyone else it does not exist. An id this process does not hold is
   * opened: a valid one for a session of remote targets (opened by another replica, or by this one before a
   * restart) is rebuilt here and kept; anything else (forged, truncated, another key's, another route's or
   * identity's, a session bound to a replica that is gone) is logged and does not exist.
   */
  get(id: string, owner: string): Session | undefined {
    const session = this.sessions.get(id);
    if (session) return session.owner === owner ? session : undefined;
    const ids = this.ids;
    if (!ids || this.released) return undefined;
    if (this.ended.has(digest(id))) {
      ids.logger.info({ route: ids.routeName, reason: 'terminated', code: ErrorCodes.MCP_SESSION_NOT_FOUND }, 'MCP session id names a session its client ended');
      return undefined;
    }
    const rebuilt = ids.rebuild(id, owner);
    const logger = ids.logger;
    if ('reason' in rebuilt) {
      logger.warn({ route: ids.routeName, reason: rebuilt.reason, code: ErrorCodes.MCP_SESSION_NOT_FOUND }, 'MCP session id names no session here');
      return undefined;
    }
    // A rebuilt session counts like an opened one; over a limit, the limit's error is the answer.
    const place = this.reserve(owner, ids.routeName, logger, true);
    place.commit(rebuilt.session);
    logger.info({ route: ids.routeName, session: id.slice(0, 16) }, 'MCP session resumed from its id');
    return rebuilt.session;
  }

  /** Open and opening sessions of one owner. */
  countOf(owner: string): number {
    return this.perOwner.get(owner) ?? 0;
  }

  /**
   * Takes a place for a session `owner` is opening, or throws PCL_ERR_MCP_SESSION_LIMIT (429 for the identity's
   * limit, 503 for the route's) without touching any open session.
   */
  reserve(owner: string, route: string, logger: Logger, resuming = false): Reservation {
    const { maxSessions, maxSessionsPerIdentity } = this.limits;
    const mine = this.countOf(owner);
    let refusal: GatewayError | undefined;
    if (this.refusing && !resuming) {
      refusal = new GatewayError(ErrorCodes.SHUTTING_DOWN, `route "${route}": this gateway is shutting down and opens no new MCP session: initialize again (another replica will take it)`);
    } else if (this.sessions.size + this.opening >= maxSessions) {
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
        // The id is sealed once the session started: it carries the upstream sessions of its targets.
        if (!resuming && this.ids) {
          session.id = this.ids.issue(session);
          session.keepUpstream = this.ids.shared;
        }
        this.sessions.set(session.id, session);
        session.onClose = (reason) => {
          if (this.sessions.get(session.id) === session) this.sessions.delete(session.id);
          if (reason === 'delete') this.ended.set(digest(session.id), true);
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

  acquire(idleTimeoutMs: number, limits: SessionLimits, ids?: SessionIds): void {
    this.refs++;
    this.ids = ids;
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

/** A fixed-size key for a session id (sealed ids run to hundreds of characters). */
function digest(id: string): string {
  return createHash('sha256').update(id).digest('base64url').slice(0, 22);
}
