import type { IncomingHttpHeaders } from 'node:http';
import type { McpTarget } from '../../../../sdk-types/config.ts';
import { ErrorCodes, GatewayError } from '../../../errors.ts';
import { type Logger, processChannel, publish } from '../../../telemetry/index.ts';
import type { ResumableTarget } from '../../../replica/index.ts';
import { connectTarget, UpstreamConnection, type ClientInit } from './connection.ts';
import type { TransportEnv } from './transport.ts';
import { builtinMcpTargetKinds } from './builtin-targets.ts';
import { targetKindOf, type McpTargetKind } from './target-kind.ts';

/**
 * The running processes of one stdio target of one route, pooled and in sessions together. It lives with the
 * route's session store, so after a reload the processes of sessions that survived still count.
 */
export class ProcessBudget {
  limit: number;
  private readonly live = new Set<UpstreamConnection>();
  private starting = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Processes running or being started. */
  get count(): number {
    return this.live.size + this.starting;
  }

  get full(): boolean {
    return this.count >= this.limit;
  }

  /** How many more processes may start. */
  get room(): number {
    return Math.max(0, this.limit - this.count);
  }

  /** Takes a place for a process about to start; false at the limit. */
  reserve(): boolean {
    if (this.full) return false;
    this.starting++;
    return true;
  }

  /** The reserved start ended: a process now runs until its connection ends, or it failed to start. */
  settle(conn: UpstreamConnection | undefined): void {
    this.starting--;
    if (!conn) return;
    this.live.add(conn);
    void conn.ended.then(() => this.live.delete(conn));
  }
}

/**
 * Opens connections to one target for one route: for stdio targets within the target's process budget, with a
 * `processChannel` event when each process starts and exits.
 */
export class TargetLauncher {
  readonly target: McpTarget;
  private readonly route: string;
  private readonly env: TransportEnv;
  private readonly timeoutMs: number;
  private readonly budget: ProcessBudget | undefined;
  private readonly logger: Logger;

  /** `env.kind`: the target's kind, by default the built-in one its key names. */
  constructor(options: { route: string; target: McpTarget; env: Omit<TransportEnv, 'kind'> & { kind?: McpTargetKind }; timeoutMs: number; budget?: ProcessBudget; logger: Logger }) {
    this.route = options.route;
    this.target = options.target;
    this.env = { ...options.env, kind: options.env.kind ?? targetKindOf(builtinMcpTargetKinds, options.target) };
    this.timeoutMs = options.timeoutMs;
    this.budget = options.budget;
    this.logger = options.logger;
  }

  /** Whether a new process would be over the target's `maxProcesses` (e.g. `stdio.maxProcesses`). */
  get full(): boolean {
    return this.budget?.full ?? false;
  }

  /** How many more processes may start now (unbounded for targets that are not processes). */
  get room(): number {
    return this.budget?.room ?? Infinity;
  }

  /** Connects to the target; a target at its process limit throws PCL_ERR_MCP_PROCESS_LIMIT. */
  async open(init: ClientInit, pooled: boolean, clientHeaders?: () => Readonly<IncomingHttpHeaders> | undefined): Promise<UpstreamConnection> {
    const budget = this.budget;
    if (!budget) {
      // A remote target's calls carry the session's latest client headers, for backendAuth passthrough.
      const bound = clientHeaders && this.env.upstream?.forClient?.(clientHeaders);
      return connectTarget(this.target, bound ? { ...this.env, upstream: bound } : this.env, init, this.timeoutMs);
    }
    if (!budget.reserve()) {
      const message = `route "${this.route}": target "${this.target.name}" already runs ${budget.limit} processes (${this.env.kind.key}.maxProcesses): no session can start another until one ends`;
      if (!pooled) this.logger.warn({ route: this.route, target: this.target.name, limit: budget.limit, code: ErrorCodes.MCP_PROCESS_LIMIT }, 'MCP process limit reached');
      throw new GatewayError(ErrorCodes.MCP_PROCESS_LIMIT, message);
    }
    let conn: UpstreamConnection | undefined;
    try {
      conn = await connectTarget(this.target, this.env, init, this.timeoutMs);
      return conn;
    } finally {
      budget.settle(conn);
      if (conn) this.published(conn, pooled);
    }
  }

  /**
   * A connection to a remote target that resumes the upstream session `target` names (opened by another replica):
   * no network round trip here; the first call finds out whether the upstream still knows the session.
   */
  resume(init: ClientInit, target: ResumableTarget, clientHeaders?: () => Readonly<IncomingHttpHeaders> | undefined): UpstreamConnection {
    const bound = clientHeaders && this.env.upstream?.forClient?.(clientHeaders);
    const conn = new UpstreamConnection(this.target, bound ? { ...this.env, upstream: bound } : this.env, init, this.timeoutMs);
    conn.resume({ protocolVersion: target.v, capabilities: Object.fromEntries(target.k.map((k) => [k, {}])) }, target.s);
    return conn;
  }

  private published(conn: UpstreamConnection, pooled: boolean): void {
    const pid = conn.pid;
    const base = { route: this.route, target: this.target.name, pid, pooled };
    publish(processChannel, () => ({ event: 'start' as const, ...base }));
    // The exit event says how the process ended (the admin UI's "last exit", the health status): code or signal.
    const exitOf = () => (conn.transportOf() as { exit?: { code: number | null; signal: string | null } } | undefined)?.exit;
    void conn.ended.then(() => publish(processChannel, () => ({ event: 'exit' as const, ...base, ...exitOf() })));
  }
}
