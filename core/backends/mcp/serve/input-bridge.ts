import { randomBytes } from 'node:crypto';
import type { RequestContext } from '../../../pipeline/index.ts';
import { RpcErrors, type JsonRpcMessage, type JsonRpcResponse } from '../../../protocol/jsonrpc.ts';
import { CLIENT_CAPABILITY, type Session } from '../session.ts';
import { json } from './common.ts';
import { SseStream } from './sse-stream.ts';

/** Calls a route keeps open at once for 2026-07-28 clients' input (a new one beyond is refused its input). */
export const MAX_BRIDGED_CALLS = 1024;

/** One server-to-client request of a 2025-era target, as a 2026-07-28 `InputRequest`. */
interface InputRequest {
  method: string;
  params?: Record<string, unknown>;
}

/**
 * One call of a 2026-07-28 client served on an internal (2025-era) upstream session, open across the client's
 * input-required rounds. In that era a server never sends the client a request: when the call's target asks
 * something (sampling, elicitation, roots) the client has declared it can answer, the HTTP exchange in progress
 * answers with an input-required result carrying the question, the target's request stays pending here, and the
 * client's retry (same request, `inputResponses`, the gateway-sealed `requestState` naming this call's handle)
 * answers it; the retry's exchange then waits for the result or the next question.
 */
export class BridgedCall {
  /** The target's requests not answered yet, by the session-unique id they were forwarded under. */
  readonly asked = new Map<string, InputRequest>();
  response?: JsonRpcResponse;
  /** The handle the call is kept under while it waits for a retry. */
  handle?: string;
  timer?: NodeJS.Timeout;
  /** Where the call's notifications go: the exchange now open, if any. */
  sink?: (m: JsonRpcMessage) => boolean;
  private wake?: () => void;
  readonly session: Session;
  readonly owner: string;
  private readonly capabilities: Record<string, unknown>;
  private readonly release: () => void;
  private released = false;

  constructor(session: Session, owner: string, capabilities: Record<string, unknown>, release: () => void) {
    this.session = session;
    this.owner = owner;
    this.capabilities = capabilities;
    this.release = release;
  }

  /** Follows the call's outcome (the upstream session's answer, made a 2026-07-28 response). */
  follow(done: Promise<JsonRpcResponse>): void {
    void done.then((r) => {
      this.response = r;
      this.signal();
    });
  }

  signal(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** Waits until `ready()` holds; `signal()` re-checks. */
  async until(ready: () => boolean): Promise<void> {
    for (let i = 0; i < 1_000 && !ready(); i++) await new Promise<void>((r) => (this.wake = r));
  }

  /**
   * The call's scope emit: a target's request the client declared it can answer is taken (false refuses it, as a
   * client without the capability); the call's own notifications go to the open exchange, or are dropped between
   * rounds; anything else goes on to the caller's listen streams.
   */
  readonly emit = (m: JsonRpcMessage): boolean => {
    if (!('method' in m)) return false;
    if ('id' in m && m.id !== undefined && m.id !== null) {
      const needs = CLIENT_CAPABILITY[m.method];
      if (!needs || !Object.hasOwn(this.capabilities, needs) || this.released) return false;
      this.asked.set(String(m.id), { method: m.method, ...(m.params !== undefined ? { params: m.params as Record<string, unknown> } : {}) });
      this.signal();
      return true;
    }
    if (m.method !== 'notifications/progress' && m.method !== 'notifications/message') return false;
    return this.sink?.(m) ?? true;
  };

  /** Answers the target's pending requests from the client's `inputResponses`; returns how many it answered. */
  answer(responses: unknown): number {
    if (typeof responses !== 'object' || responses === null) return 0;
    let n = 0;
    for (const key of [...this.asked.keys()]) {
      if (!Object.hasOwn(responses, key)) continue;
      this.asked.delete(key);
      this.session.clientResponse({ jsonrpc: '2.0', id: key, result: (responses as Record<string, unknown>)[key] });
      n++;
    }
    return n;
  }

  /** Gives the call up: the target's pending requests are answered with an error. */
  abandon(why: string): void {
    for (const key of [...this.asked.keys()]) {
      this.asked.delete(key);
      this.session.clientResponse({ jsonrpc: '2.0', id: key, error: { code: RpcErrors.REQUEST_TIMEOUT, message: why } });
    }
    this.finish();
  }

  /**
   * Cancels the call upstream: in this era a client cancels a request by closing its response (the Go SDK client
   * does, then sends a `notifications/cancelled` without envelope, which is acknowledged and dropped).
   */
  cancel(reason: string): void {
    const scope = [...this.session.scopes].find((s) => s.emit === this.emit);
    if (scope?.target && scope.upstreamId !== undefined) this.session.targets.get(scope.target)?.conn?.notify('notifications/cancelled', { requestId: scope.upstreamId, reason });
    this.abandon('the client cancelled the request');
  }

  /** The call needs nothing more from this process: its upstream session may idle again. */
  finish(): void {
    clearTimeout(this.timer);
    if (this.released) return;
    this.released = true;
    this.release();
  }
}

/** The open calls of one route's 2026-07-28 clients that wait for a retry, by random handle. */
export class InputBridge {
  private readonly calls = new Map<string, BridgedCall>();

  /** Keeps `call` for its retry for `timeoutMs`; undefined when the route already keeps as many as it may. */
  keep(call: BridgedCall, timeoutMs: number, lapsed: () => void): string | undefined {
    if (this.calls.size >= MAX_BRIDGED_CALLS) return undefined;
    const handle = randomBytes(18).toString('base64url');
    call.handle = handle;
    this.calls.set(handle, call);
    clearTimeout(call.timer);
    call.timer = setTimeout(() => {
      if (this.calls.get(handle) !== call) return;
      this.calls.delete(handle);
      call.abandon('the client did not answer in time (its retry with inputResponses did not come)');
      lapsed();
    }, timeoutMs);
    call.timer.unref();
    return handle;
  }

  /** The call kept under `handle` for `owner`, taken out (a handle serves one retry). */
  take(handle: string, owner: string): BridgedCall | undefined {
    const call = this.calls.get(handle);
    if (!call || call.owner !== owner || call.session.closed) return undefined;
    this.calls.delete(handle);
    clearTimeout(call.timer);
    call.handle = undefined;
    return call;
  }

  get size(): number {
    return this.calls.size;
  }

  close(): void {
    for (const call of this.calls.values()) call.abandon('the MCP route is shutting down');
    this.calls.clear();
  }
}

/** How one HTTP exchange of a call ends each way. */
export interface ExchangeEnv {
  ctx: RequestContext;
  wantsStream: boolean;
  /** Whether log messages go to the client (it asked for a level). */
  logs: boolean;
  /** The call's final response, made a 2026-07-28 one. */
  complete(response: JsonRpcResponse): JsonRpcResponse;
  /** The input-required response for the target's open questions, sealed with `handle`. */
  inputRequired(requests: Record<string, InputRequest>, handle: string): JsonRpcResponse;
  statusOf(code: number): number;
  bridge: InputBridge;
  timeoutMs(): number;
}

/**
 * Serves one HTTP exchange of `call`: its notifications go to this exchange's stream (opened on the first one,
 * when the client accepts a stream), and it ends with the call's result, or with an input-required result when
 * the target asks the client something.
 */
export async function runExchange(call: BridgedCall, env: ExchangeEnv): Promise<void> {
  const { ctx } = env;
  let stream: SseStream | undefined;
  let opened = false;
  let ended = false;
  // The client closing the exchange before it ended cancels the call.
  ctx.onAbort?.(() => {
    if (ended || call.response !== undefined) return;
    ended = true;
    call.sink = undefined;
    call.cancel('the client closed the request');
    // A cancelled call gets no answer from its target: wake the loop below so this exchange (and the caller's
    // upstream session it holds) ends now, not at the request timeout.
    call.signal();
  });
  call.sink = (m) => {
    if ('method' in m && m.method === 'notifications/message' && !env.logs) return true;
    if (!env.wantsStream) return true;
    if (!stream) {
      const s = (stream = new SseStream(ctx.signal));
      call.session.streams.add(s);
      s.whenEnded(() => call.session.streams.delete(s));
      call.signal();
    }
    return stream.send(m);
  };
  const send = (response: JsonRpcResponse) => {
    if (ended) return;
    ended = true;
    call.sink = undefined;
    if (!stream) return ctx.respond(json(response.error ? env.statusOf(response.error.code) : 200, response));
    if (!opened) ctx.respond(stream.response());
    stream.send(response);
    stream.end();
  };
  // Each turn opens the stream, or ends the exchange.
  for (let turn = 0; turn < 3; turn++) {
    await call.until(() => ended || call.response !== undefined || call.asked.size > 0 || (stream !== undefined && !opened));
    if (ended) return;
    if (call.response) {
      call.finish();
      return send(env.complete(call.response));
    }
    if (call.asked.size > 0) {
      const timeoutMs = env.timeoutMs();
      const handle = env.bridge.keep(call, timeoutMs, () =>
        ctx.log.info({ route: ctx.routeName, timeoutMs }, 'MCP input-required call dropped: the client did not retry with its input in time'),
      );
      if (handle) return send(env.inputRequired(Object.fromEntries(call.asked), handle));
      ctx.log.warn({ route: ctx.routeName, open: env.bridge.size }, 'MCP input bridge full: the target\'s request to the client is refused');
      call.abandon('the gateway keeps too many calls waiting for their clients\' input');
      continue;
    }
    ctx.respond(stream!.response());
    opened = true;
  }
  call.finish();
  send({ jsonrpc: '2.0', id: null, error: { code: RpcErrors.INTERNAL_ERROR, message: 'internal gateway error' } });
}
