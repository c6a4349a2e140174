import { ErrorCodes, GatewayError } from '../../errors.ts';
import type { Session } from './session.ts';

/**
 * The open sessions of one MCP route. It lives in the gateway's persistent state, so a reload hands open sessions
 * to the new runtime; it is shared by reference count and closes its sessions when the last runtime using it goes.
 */
export class SessionStore {
  private readonly sessions = new Map<string, Session>();
  /** Legacy SSE sessions end with their stream; everything else with DELETE or idle expiry. */
  private refs = 0;
  /** Set when the last runtime let go: sessions still being opened then must not outlive the store. */
  private released = false;
  private sweeper?: NodeJS.Timeout;
  idleTimeoutMs: number;

  constructor(idleTimeoutMs: number) {
    this.idleTimeoutMs = idleTimeoutMs;
  }

  get size(): number {
    return this.sessions.size;
  }

  get(id: string): Session | undefined {
    return this.sessions.get(id);
  }

  add(session: Session): void {
    if (this.released) {
      // The session finished starting while its gateway (or its route) was going away: nothing would ever close
      // it, and its stdio processes would outlive the gateway.
      void session.close();
      throw new GatewayError(ErrorCodes.SHUTTING_DOWN, 'the MCP route is shutting down: the new session was closed');
    }
    this.sessions.set(session.id, session);
    session.onClose = () => this.sessions.delete(session.id);
  }

  acquire(idleTimeoutMs: number): void {
    this.refs++;
    this.released = false;
    this.idleTimeoutMs = idleTimeoutMs;
    if (this.sweeper) return;
    this.sweeper = setInterval(() => this.sweep(), Math.max(25, Math.min(30_000, Math.floor(idleTimeoutMs / 4)))).unref();
  }

  /** Closes sessions with no open exchange and no activity within the idle timeout. */
  sweep(now = Date.now()): void {
    for (const s of this.sessions.values()) {
      if (s.active === 0 && now - s.lastActivity > this.idleTimeoutMs) void s.close();
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
    await Promise.allSettled([...this.sessions.values()].map((s) => s.close()));
    return true;
  }
}
