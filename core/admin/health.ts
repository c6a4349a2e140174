import { ErrorCodes } from '../errors.ts';
import type { ProcessEvent, UpstreamAttemptEvent } from '../telemetry/index.ts';
import type { MessageLine } from './observer.ts';

export type HealthStatus = 'up' | 'failed' | 'restarting' | 'unknown';

/** What the Overview shows for one backend or MCP target. */
export interface Health {
  status: HealthStatus;
  /** stdio targets: processes running now, and how many of them were started for the warm pool. */
  running?: number;
  pooled?: number;
  starts?: number;
  lastExit?: { time: string; code?: number | null; signal?: string | null };
  lastError?: { time: string; message: string };
  lastOkAt?: string;
}

interface Entry {
  running: number;
  pooled: number;
  starts: number;
  lastExit?: { at: number; code?: number | null; signal?: string | null; abnormal: boolean };
  lastError?: { at: number; message: string };
  lastOk?: number;
}

/** An abnormal exit this recent, with a process running again, reads as "restarting". */
const RESTART_WINDOW_MS = 30_000;
const UNREACHABLE: ReadonlySet<string> = new Set([ErrorCodes.BACKEND_UNREACHABLE, ErrorCodes.NO_HEALTHY_BACKEND]);

const keyOf = (route: string, name: string) => `${route}\u0000${name}`;

/** Health of backends and MCP targets, as the telemetry events tell it (no probing of its own). */
export class HealthBook {
  private readonly entries = new Map<string, Entry>();
  private lastUsed: { route: string; name: string; entry: Entry } | undefined;

  private entry(route: string, name: string): Entry {
    const key = keyOf(route, name);
    let e = this.entries.get(key);
    if (!e) this.entries.set(key, (e = { running: 0, pooled: 0, starts: 0 }));
    return e;
  }

  /**
   * The entry of a backend, for the per-request events: request after request (and attempt after attempt) names
   * the same route and backend, so the last one is kept at hand (entries are never removed).
   */
  private lastEntry(route: string, name: string): Entry {
    const last = this.lastUsed;
    if (last !== undefined && last.route === route && last.name === name) return last.entry;
    const entry = this.entry(route, name);
    this.lastUsed = { route, name, entry };
    return entry;
  }

  process(e: ProcessEvent): void {
    const h = this.entry(e.route, e.target);
    if (e.event === 'start') {
      h.running++;
      h.starts++;
      if (e.pooled) h.pooled++;
      return;
    }
    h.running = Math.max(0, h.running - 1);
    if (e.pooled) h.pooled = Math.max(0, h.pooled - 1);
    // A process the gateway stopped (SIGTERM at close, idle pool trim) exits normally as far as health goes.
    const abnormal = (e.code !== null && e.code !== undefined && e.code !== 0) || (e.signal !== null && e.signal !== undefined && e.signal !== 'SIGTERM');
    h.lastExit = { at: Date.now(), code: e.code, signal: e.signal, abnormal };
  }

  message(route: string, line: MessageLine): void {
    if (!line.target) return;
    const h = this.entry(route, line.target);
    if (line.outcome === 'ok' || line.rpcErrorCode !== undefined) h.lastOk = Date.now();
    else if (line.outcome === 'error') h.lastError = { at: Date.now(), message: line.errorMessage ?? 'error' };
  }

  upstream(e: Pick<UpstreamAttemptEvent, 'route' | 'backend' | 'errorCode' | 'error'>): void {
    const h = this.lastEntry(e.route, e.backend);
    if (e.error !== undefined || e.errorCode !== undefined) h.lastError = { at: Date.now(), message: e.errorCode ?? String((e.error as Error)?.message ?? e.error) };
    else h.lastOk = Date.now();
  }

  /** A request's line: its route, backend, status and error code. */
  request(route: string | undefined, backend: string | undefined, status: number, errorCode: string | undefined): void {
    if (!route || !backend) return;
    const h = this.lastEntry(route, backend);
    if (errorCode && UNREACHABLE.has(errorCode)) h.lastError = { at: Date.now(), message: errorCode };
    else if (status > 0 && status < 500) h.lastOk = Date.now();
  }

  of(route: string, name: string, stdio: boolean): Health {
    const h = this.entries.get(keyOf(route, name));
    if (!h) return { status: 'unknown', ...(stdio ? { running: 0, pooled: 0, starts: 0 } : {}) };
    let status: HealthStatus = 'unknown';
    const now = Date.now();
    if (stdio && h.running > 0) status = h.lastExit?.abnormal && now - h.lastExit.at < RESTART_WINDOW_MS ? 'restarting' : 'up';
    else if (stdio && h.lastExit?.abnormal) status = 'failed';
    else if (h.lastError && (h.lastOk === undefined || h.lastError.at > h.lastOk)) status = 'failed';
    else if (h.lastOk !== undefined) status = 'up';
    const out: Health = { status };
    if (stdio) Object.assign(out, { running: h.running, pooled: h.pooled, starts: h.starts });
    if (h.lastExit) out.lastExit = { time: new Date(h.lastExit.at).toISOString(), code: h.lastExit.code, signal: h.lastExit.signal };
    if (h.lastError) out.lastError = { time: new Date(h.lastError.at).toISOString(), message: h.lastError.message };
    if (h.lastOk !== undefined) out.lastOkAt = new Date(h.lastOk).toISOString();
    return out;
  }
}
