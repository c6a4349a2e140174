import type { McpTarget } from '../../../../sdk-types/config.ts';
import { isJsonRpcMessage, isNotification, isRequest, isResponse, RpcErrors, RpcFailure, type JsonRpcId, type JsonRpcMessage, type JsonRpcNotification, type JsonRpcRequest } from '../../../protocol/jsonrpc.ts';
import type { ResumableTarget } from '../../../replica/index.ts';
import { createTransport, type TransportEnv, type UpstreamTransport } from './transport.ts';
import type { McpTargetKind } from './target-kind.ts';
import { failedAnswer, UpstreamProtocolError } from './upstream-answer.ts';
import { ModernEraTransport, refusedAsModern } from './modern.ts';
import { MODERN_VERSIONS } from '../era.ts';

/** What the gateway says about itself and its client when it initializes a target. */
export interface ClientInit {
  protocolVersion: string;
  capabilities: Record<string, unknown>;
  clientInfo: { name: string; version: string };
  /**
   * `modern`: the session serves 2026-07-28 clients, so a streamable HTTP target that also speaks 2026-07-28 is
   * spoken to in that era (probed with `server/discover` first). Not sent upstream.
   */
  era?: 'modern';
}

/** The params of the gateway's `initialize`: the client init without what is the gateway's own. */
function initializeParams(init: ClientInit): Record<string, unknown> {
  const { era: _own, ...params } = init;
  return params;
}

/** What a target answered to `initialize`. */
export interface ServerInit {
  protocolVersion: string;
  capabilities: Record<string, any>;
  serverInfo?: { name?: string; version?: string };
  instructions?: string;
  /** A 2026-07-28-only target: its `server/discover` result (capabilities, versions, caching hints). */
  discover?: Record<string, unknown>;
}

/** Where a connection delivers what its target sends on its own. Set when a session takes the connection. */
export interface ConnectionHandlers {
  onNotification(msg: JsonRpcNotification): void;
  /** A server-to-client request (sampling, elicitation, roots/list); resolves to the result or throws RpcFailure. */
  onRequest(msg: JsonRpcRequest): Promise<unknown>;
  onClose(): void;
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
  method: string;
}

export interface RequestHandle {
  /** The id the request carries upstream, for `notifications/cancelled`. */
  upstreamId: number;
  result: Promise<unknown>;
}

/**
 * What a client session holds for one target: its own upstream connection, or its lease on a shared stdio
 * process (see shared.ts). Sessions and dispatch use only this.
 */
export interface TargetConnection {
  readonly target: string;
  readonly init: ServerInit;
  handlers?: ConnectionHandlers;
  readonly closed: boolean;
  /** List results ready before the session asks, each served once (first page, no cursor). */
  readonly prefetched: Map<string, unknown>;
  readonly ended: Promise<void>;
  readonly pid: number | undefined;
  request(method: string, params: Record<string, unknown> | undefined, timeoutMs?: number): RequestHandle;
  notify(method: string, params?: Record<string, unknown>): void;
  precheck(method: string, params: Record<string, unknown>): unknown;
  /** What another replica needs to resume this connection, or undefined when only this process can serve it. */
  portable?(): ResumableTarget | undefined;
  /** `keep`: leave the upstream session open (another replica may be serving it). */
  close(keep?: boolean): Promise<void>;
}

/** One MCP session with one target: request/response correlation, time limits, re-initialization after a 404. */
/** Targets whose era probe found no 2026-07-28 support, and when (per resolved target: a reload probes anew). */
const legacyTargets = new WeakMap<McpTarget, number>();
/** How long a failed probe is trusted before the next internal session probes again. */
const PROBE_TRUST_MS = 60_000;

function probedLegacy(target: McpTarget): boolean {
  const at = legacyTargets.get(target);
  return at !== undefined && performance.now() - at < PROBE_TRUST_MS;
}

export class UpstreamConnection implements TargetConnection {
  readonly target: string;
  readonly kind: McpTargetKind;
  init!: ServerInit;
  handlers?: ConnectionHandlers;
  closed = false;
  /** List results fetched ahead of use by the warm pool, each served once (first page, no cursor). */
  readonly prefetched = new Map<string, unknown>();
  private transport!: UpstreamTransport;
  private nextId = 1;
  private readonly pending = new Map<JsonRpcId, Pending>();
  private readonly config: McpTarget;
  private readonly env: TransportEnv;
  private readonly clientInit: ClientInit;
  private readonly timeoutMs: number;
  private reinit?: Promise<void>;
  /** Settles once the connection is closed or lost (a stdio target's process exited or was stopped). */
  readonly ended: Promise<void>;
  private markEnded!: () => void;

  constructor(config: McpTarget, env: TransportEnv, clientInit: ClientInit, timeoutMs: number) {
    this.ended = new Promise((r) => (this.markEnded = r));
    this.target = config.name;
    this.kind = env.kind;
    this.config = config;
    this.env = env;
    this.clientInit = clientInit;
    this.timeoutMs = timeoutMs;
  }

  /** The transport, for what a failure message can tell about it. */
  transportOf(): UpstreamTransport | undefined {
    return this.transport;
  }

  get pid(): number | undefined {
    return (this.transport as { pid?: number } | undefined)?.pid;
  }

  /** Starts the transport and performs the initialize handshake. */
  async open(): Promise<void> {
    this.transport = this.attach(createTransport(this.config, this.env));
    try {
      await this.transport.start();
      await this.handshake();
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  /**
   * Takes over an upstream session another replica opened, with no `initialize`: `init` is what the target
   * answered then (carried in the session id). Kinds that are `resumable` only.
   */
  resume(init: ServerInit, sessionId: string | undefined): void {
    this.transport = this.attach(createTransport(this.config, this.env));
    this.init = init;
    this.transport.start().catch((err) => this.fail((err as Error).message));
    this.transport.resume?.(sessionId, init.protocolVersion);
  }

  portable(): ResumableTarget | undefined {
    if (!this.kind.resumable || !this.init) return undefined;
    // A 2026-07-28-only target is spoken to through the era wrapper, which another replica would have to rebuild from
    // a discovery of its own: such a session stays with its owner (forwarded), like a stdio one.
    if (this.transport instanceof ModernEraTransport) return undefined;
    const k = Object.keys(this.init.capabilities).filter((c) => this.init.capabilities[c]);
    const s = this.transport?.upstreamSessionId;
    return s === undefined ? { v: this.init.protocolVersion, k } : { s, v: this.init.protocolVersion, k };
  }

  private attach(transport: UpstreamTransport): UpstreamTransport {
    transport.onmessage = (m) => this.receive(m);
    transport.onclose = () => {
      // A stale transport replaced after a 404 closes without ending the connection.
      const closed = transport as { closeReason?: string; closeCode?: string };
      if (transport === this.transport) this.fail(closed.closeReason ?? 'the target closed the connection', closed.closeCode);
    };
    // What a target sent that is not MCP: logged with the target's name; the call it garbled (if one) is answered
    // with a JSON-RPC error by the transport, and the connection goes on.
    transport.onerror = (err) => this.env.onTransportError?.(err);
    return transport;
  }

  private async handshake(): Promise<void> {
    const timeoutMs = Math.max(this.timeoutMs, MIN_STARTUP_MS);
    let result: ServerInit | undefined;
    if (this.clientInit.era === 'modern' && this.kind.eraProbe && !probedLegacy(this.config)) {
      // Probe: a target that answers server/discover with a modern version is spoken to in that era.
      const probed = this.transport;
      this.transport = this.attach(new ModernEraTransport(probed, this.clientInit, MODERN_VERSIONS[0]));
      try {
        result = (await this.request('initialize', initializeParams(this.clientInit), timeoutMs).result) as ServerInit;
      } catch {
        // Not a 2026-07-28 target: the next internal sessions for a while skip the probe (a round trip and a
        // transport each). Should the target become 2026-only, its refusal of initialize says so (below).
        legacyTargets.set(this.config, performance.now());
        const wrapper = this.transport;
        this.transport = this.attach(createTransport(this.config, this.env));
        await wrapper.close().catch(() => {});
        await this.transport.start();
      }
    }
    try {
      result ??= (await this.request('initialize', initializeParams(this.clientInit), timeoutMs).result) as ServerInit;
    } catch (err) {
      // A 2026-07-28-only target refuses the handshake naming its versions: speak per-request envelopes to it.
      const modern = refusedAsModern(err);
      if (!modern) throw err;
      this.transport = this.attach(new ModernEraTransport(this.transport, this.clientInit, modern));
      result = (await this.request('initialize', initializeParams(this.clientInit), timeoutMs).result) as ServerInit;
    }
    if (!result || typeof result.protocolVersion !== 'string') throw new Error('the target answered initialize without a protocolVersion');
    this.init = { ...result, capabilities: result.capabilities ?? {} };
    this.transport.setProtocolVersion?.(result.protocolVersion);
    await this.transport.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  }

  request(method: string, params: Record<string, unknown> | undefined, timeoutMs = this.timeoutMs): RequestHandle {
    const id = this.nextId++;
    const result = new Promise<unknown>((resolve, reject) => {
      if (this.closed) return reject(unavailable(this.target, 'it is not connected'));
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.transport.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason: 'timeout' } }).catch(() => {});
        reject(new RpcFailure(RpcErrors.REQUEST_TIMEOUT, `target "${this.target}" did not answer ${method} within ${timeoutMs} ms`, { target: this.target }));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer, method });
      const message: JsonRpcRequest = { jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) };
      this.sendOrReinit(message).catch((err) => {
        const p = this.pending.get(id);
        if (!p) return;
        this.pending.delete(id);
        clearTimeout(p.timer);
        if (err instanceof UpstreamProtocolError) {
          this.env.onTransportError?.(new UpstreamProtocolError(`target "${this.target}" ${err.message}`, err.code));
          const { error } = failedAnswer(id, this.target, err.message, err.code);
          reject(new RpcFailure(error!.code, error!.message, error!.data));
        } else reject(unavailable(this.target, (err as Error).message));
      });
    });
    return { upstreamId: id, result };
  }

  /** Streamable HTTP: an upstream that forgot the session answers 404; start a new one and send again, once. */
  private async sendOrReinit(message: JsonRpcMessage): Promise<void> {
    if (this.reinit) await this.reinit;
    try {
      await this.transport.send(message);
    } catch (err) {
      // A 2026-07-28 target has no session to forget (its 404 is an unknown method, answered as such).
      if (!this.kind.reinitializeOn404 || this.transport instanceof ModernEraTransport || (err as { code?: number }).code !== 404 || (message as JsonRpcRequest).method === 'initialize') throw err;
      this.reinit ??= this.reopen().finally(() => {
        this.reinit = undefined;
      });
      await this.reinit;
      await this.transport.send(message);
    }
  }

  private async reopen(): Promise<void> {
    const old = this.transport;
    this.transport = this.attach(createTransport(this.config, this.env));
    old.close().catch(() => {});
    await this.transport.start();
    const id = this.nextId++;
    const answer = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('re-initialize timed out')), this.timeoutMs);
      this.pending.set(id, { resolve, reject, timer, method: 'initialize' });
    });
    await this.transport.send({ jsonrpc: '2.0', id, method: 'initialize', params: initializeParams(this.clientInit) });
    const result = (await answer) as ServerInit;
    this.transport.setProtocolVersion?.(result.protocolVersion);
    await this.transport.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  }

  /** What the target answers `method` with before the message pipeline runs, if anything (OpenAPI argument checks). */
  precheck(method: string, params: Record<string, unknown>): unknown {
    return this.closed ? undefined : this.transport?.precheck?.(method, params);
  }

  notify(method: string, params?: Record<string, unknown>): void {
    if (this.closed) return;
    this.sendOrReinit({ jsonrpc: '2.0', method, ...(params === undefined ? {} : { params }) }).catch(() => {});
  }

  private receive(m: JsonRpcMessage): void {
    if (!isJsonRpcMessage(m)) return this.garbled(m, 'sent JSON that is not a JSON-RPC message');
    if (isResponse(m)) {
      const p = m.id === null ? undefined : this.pending.get(m.id);
      if (!p) return;
      if (m.error && (typeof m.error.code !== 'number' || typeof m.error.message !== 'string')) return this.garbled(m, 'answered with a JSON-RPC error without a numeric code and a message');
      this.pending.delete(m.id!);
      clearTimeout(p.timer);
      if (m.error) p.reject(new RpcFailure(m.error.code, m.error.message, m.error.data));
      else p.resolve(m.result);
      return;
    }
    if (isRequest(m)) {
      if (m.method === 'ping') {
        this.transport.send({ jsonrpc: '2.0', id: m.id, result: {} }).catch(() => {});
        return;
      }
      const handle = this.handlers ? this.handlers.onRequest(m) : Promise.reject(new RpcFailure(RpcErrors.METHOD_NOT_FOUND, 'no client is attached'));
      handle.then(
        (result) => this.transport.send({ jsonrpc: '2.0', id: m.id, result }),
        (err) => {
          const error = err instanceof RpcFailure ? err.toError() : { code: RpcErrors.INTERNAL_ERROR, message: (err as Error).message };
          return this.transport.send({ jsonrpc: '2.0', id: m.id, error });
        },
      ).catch(() => {});
      return;
    }
    if (isNotification(m)) {
      // A prefetched list is stale once the target says its list changed.
      const changed = /^notifications\/(\w+)\/list_changed$/.exec(m.method);
      if (changed) this.prefetched.delete(`${changed[1]}/list`);
      this.handlers?.onNotification(m);
    }
  }

  /** A message that is not JSON-RPC: logged; the call it names, if any, fails with a JSON-RPC error naming the target. */
  private garbled(m: unknown, why: string): void {
    this.env.onTransportError?.(new UpstreamProtocolError(`target "${this.target}" ${why}`));
    const id = (m as { id?: unknown } | null)?.id;
    const p = typeof id === 'string' || typeof id === 'number' ? this.pending.get(id) : undefined;
    if (!p) return;
    this.pending.delete(id as JsonRpcId);
    clearTimeout(p.timer);
    const { error } = failedAnswer(id as JsonRpcId, this.target, why);
    p.reject(new RpcFailure(error!.code, error!.message, error!.data));
  }

  private fail(reason: string, code?: string): void {
    if (this.closed) return;
    this.closed = true;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(unavailable(this.target, reason, code));
      this.pending.delete(id);
    }
    this.handlers?.onClose();
    this.markEnded();
  }

  async close(keep = false): Promise<void> {
    const wasClosed = this.closed;
    this.closed = true;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(unavailable(this.target, 'the session closed'));
      this.pending.delete(id);
    }
    if (this.transport) await this.transport.close(keep).catch(() => {});
    if (!wasClosed) this.handlers = undefined;
    this.markEnded();
  }
}

/** `code`: the stable code of why, when the transport knows it (a target that sent what is not MCP). */
export function unavailable(target: string, why: string, code?: string): RpcFailure {
  return new RpcFailure(RpcErrors.TARGET_UNAVAILABLE, `target "${target}" is unavailable: ${why}`, code ? { target, code } : { target });
}

/** Starting a process (a runtime loading its modules) is slower than answering a call: never allow it less. */
export const MIN_STARTUP_MS = 2000;

/** Opens a connection to a target, bounded by its request timeout so a hung server cannot stall a session. */
export async function connectTarget(config: McpTarget, env: TransportEnv, clientInit: ClientInit, requestTimeoutMs: number): Promise<UpstreamConnection> {
  const timeoutMs = Math.max(requestTimeoutMs, MIN_STARTUP_MS);
  const conn = new UpstreamConnection(config, env, clientInit, requestTimeoutMs);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    // A stdio server's stderr usually says why it hangs (a download behind a proxy, a missing credential).
    const stderr = () => (conn.transportOf() as { describeStderr?: () => string } | undefined)?.describeStderr?.() ?? '';
    timer = setTimeout(() => reject(new Error(`no answer to initialize within ${timeoutMs} ms${stderr()}`)), timeoutMs);
  });
  try {
    await Promise.race([conn.open(), deadline]);
  } catch (err) {
    await conn.close();
    throw err;
  } finally {
    clearTimeout(timer);
  }
  return conn;
}
