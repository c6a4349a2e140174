import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { ErrorCodes, GatewayError } from '../errors.ts';
import { announcesBody, errorResponse, type ServeEnv } from '../server/exchange.ts';
import { handleRequest } from '../server/handler.ts';
import { BoundedMap } from '../state/bounded-map.ts';
import { stripHopByHop } from '../pipeline/index.ts';
import { relayAnswer } from './relay.ts';
import { type PeerSettings, openSessionId, peerMac, type SessionKeys } from '../replica/index.ts';

/** `<time ms> <bind index> <scheme> <client address> <hmac>`: what the owner needs, signed. */
const PEER_HEADER = 'x-portcullis-peer';
const SESSION_HEADER = 'mcp-session-id';
/** A signed forward is accepted this long around its time (clock skew between nodes, a slow hop). */
const SKEW_MS = 60_000;
/** The owner is gone when it cannot be connected to within this (its pod is deleted, its port closed). */
const CONNECT_TIMEOUT_MS = 3_000;
/** Most ids remembered as "not bound elsewhere", so a session's requests open its id once per replica. */
const CACHE_MAX = 10_000;
const POOLS_MAX = 256;

/** The session id a request names: the `Mcp-Session-Id` header, or the legacy SSE transport's `sessionId` query. */
export function sessionIdOf(req: IncomingMessage): string | undefined {
  const header = req.headers[SESSION_HEADER];
  if (typeof header === 'string') return header;
  const url = req.url ?? '';
  const q = url.indexOf('?');
  if (q === -1 || url.indexOf('sessionId=', q) === -1) return undefined;
  return new URLSearchParams(url.slice(q + 1)).get('sessionId') ?? undefined;
}

/**
 * The channel between replicas for MCP sessions that only their owner can serve (a stdio target's process, a
 * legacy SSE stream). Such a session's id names its owner's peer address (sealed: clients cannot change it); a
 * request for it that reaches another replica is passed there as HTTP, signed with a key derived from the session
 * key, and the owner serves it exactly as if it had arrived on its own bind. The peer port takes signed forwards
 * only: anything else is refused with 401 and logged. An owner that cannot be reached is gone: the client gets the
 * 404 of an unknown session and initializes again. Requests without a session id never take this path.
 */
export class PeerChannel {
  readonly settings: PeerSettings;
  private readonly keys: SessionKeys;
  private env: ServeEnv | undefined;
  private server: Server | undefined;
  /** One pool per peer address; pod addresses change with every rollout, so the least recently used go. */
  private readonly pools = new BoundedMap<string, Pool>(POOLS_MAX, (_peer, pool) => void pool.destroy());
  /** Ids known not to be bound to another replica (their session is here, or resumable anywhere). */
  private readonly local = new BoundedMap<string, true>(CACHE_MAX);
  /** Requests forwarded to other replicas, and served for them. */
  forwarded = 0;
  servedFor = 0;

  constructor(settings: PeerSettings, keys: SessionKeys) {
    this.settings = settings;
    this.keys = keys;
  }

  attach(env: ServeEnv): void {
    this.env = env;
  }

  /** Opens the peer port (when this replica has a peer address); resolves to the port. */
  async listen(): Promise<number | undefined> {
    const listen = this.settings.listen;
    if (!listen) return undefined;
    const server = (this.server = createServer((req, res) => this.serve(req, res)));
    server.keepAliveTimeout = 65_000;
    server.headersTimeout = 10_000;
    server.requestTimeout = 0;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(new GatewayError(ErrorCodes.PEER_ADDRESS_INVALID, `cannot listen for peers on ${listen.host}:${listen.port}: ${err.code ?? err.message}`, { cause: err })),
      );
      // Workers of one replica share the port (each accepts; a forward then finds its owner worker by handoff).
      server.listen({ host: listen.host, port: listen.port, reusePort: process.platform === 'linux', exclusive: true }, () => resolve());
    });
    server.unref();
    return (server.address() as AddressInfo).port;
  }

  /** The peer a request must go to: the owner of a session bound to another replica; else undefined. */
  ownerOf(req: IncomingMessage): string | undefined {
    const id = sessionIdOf(req);
    if (id === undefined || this.local.has(id)) return undefined;
    const opened = openSessionId(id, this.keys);
    const peer = 'claims' in opened ? opened.claims.p : undefined;
    if (peer && peer !== this.settings.address) return peer;
    // Forged ids are not remembered (the cache would fill with them); they fail again, cheaply, in the store.
    if ('claims' in opened) {
      this.local.set(id, true);
    }
    return undefined;
  }

  private pool(peer: string): Pool {
    let pool = this.pools.get(peer);
    if (!pool) {
      pool = new Pool(`http://${peer}`, {
        connect: { timeout: CONNECT_TIMEOUT_MS },
        headersTimeout: this.settings.timeoutMs,
        bodyTimeout: 0,
        keepAliveTimeout: 30_000,
        connections: 64,
      });
      this.pools.set(peer, pool);
    }
    return pool;
  }

  forward(peer: string, req: IncomingMessage, res: ServerResponse, bindIndex: number, scheme: 'http' | 'https', expectContinue: boolean): Promise<void> {
    this.forwarded++;
    const logger = this.env?.logger;
    const headers = stripHopByHop(req.headers) as Record<string, string | string[]>;
    delete headers.expect;
    delete headers[PEER_HEADER];
    const path = req.url ?? '/';
    const method = req.method ?? 'GET';
    const fields = [String(Date.now()), String(bindIndex), scheme, req.socket.remoteAddress ?? ''];
    headers[PEER_HEADER] = `${fields.join(' ')} ${peerMac(this.keys.keys[0], [...fields, method, path, sessionIdOf(req) ?? ''])}`;
    const hasBody = announcesBody(req.headers);
    if (expectContinue && hasBody) res.writeContinue();
    const abort = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) abort.abort(new Error('client closed the connection'));
    });
    return this.pool(peer)
      .request({ path, method: method as 'GET', headers, body: hasBody ? req : undefined, signal: abort.signal })
      .then((answer) => relayAnswer(answer, res))
      .catch((err: Error & { code?: string }) => {
        if (res.headersSent || abort.signal.aborted) return void res.destroy();
        const gone = err.code === 'ECONNREFUSED' || err.code === 'UND_ERR_CONNECT_TIMEOUT' || err.code === 'EHOSTUNREACH' || err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN' || err.code === 'ENETUNREACH';
        const e = gone
          ? new GatewayError(ErrorCodes.MCP_SESSION_NOT_FOUND, 'this MCP session lived on a replica that is gone: initialize a new session')
          : new GatewayError(ErrorCodes.PEER_FORWARD_FAILED, `the replica that owns this MCP session did not answer: ${err.code ?? err.message}`);
        logger?.warn({ peer, code: e.code, err: err.code ?? err.message }, gone ? 'session owner is gone' : 'peer forward failed');
        if (gone) {
          // A replica that is gone does not come back at that address: its pool would only hold dead sockets.
          void this.pools.peek(peer)?.destroy();
          this.pools.delete(peer);
        }
        const answer = errorResponse(e);
        res.writeHead(answer.status, answer.headers as Record<string, string>);
        res.end(answer.body as string);
      });
  }

  /** Checks a forward's signature with every key (a rotation may be half rolled out). */
  private verify(req: IncomingMessage): { bindIndex: number; scheme: 'http' | 'https'; clientAddress: string } | string {
    const header = req.headers[PEER_HEADER];
    if (typeof header !== 'string') return 'unsigned';
    const parts = header.split(' ');
    if (parts.length !== 5) return 'malformed signature';
    const [time, bind, scheme, clientAddress, mac] = parts;
    const at = Number(time);
    if (!Number.isFinite(at) || Math.abs(Date.now() - at) > SKEW_MS) return 'expired signature';
    const given = Buffer.from(mac, 'hex');
    const signed = [time, bind, scheme, clientAddress, req.method ?? 'GET', req.url ?? '/', sessionIdOf(req) ?? ''];
    const ok = this.keys.keys.some((k) => {
      const want = Buffer.from(peerMac(k, signed), 'hex');
      return want.length === given.length && timingSafeEqual(want, given);
    });
    if (!ok) return 'bad signature';
    return { bindIndex: Number(bind), scheme: scheme === 'https' ? 'https' : 'http', clientAddress };
  }

  private serve(req: IncomingMessage, res: ServerResponse): void {
    const env = this.env;
    const checked = this.verify(req);
    if (typeof checked === 'string' || !env) {
      env?.logger.warn({ from: req.socket.remoteAddress, reason: checked, code: ErrorCodes.UNAUTHENTICATED }, 'peer request refused');
      res.writeHead(401, { 'content-type': 'application/json', connection: 'close' }).end(JSON.stringify({ error: { code: ErrorCodes.UNAUTHENTICATED, message: 'peer requests must be signed with the session key' } }));
      return;
    }
    delete req.headers[PEER_HEADER];
    const bind = env.current().config.binds[checked.bindIndex];
    if (!bind) {
      res.writeHead(404).end();
      return;
    }
    this.servedFor++;
    handleRequest(env, bind.key, checked.scheme, req, res, false, checked.clientAddress).catch((err) => {
      env.logger.error({ err }, 'peer-forwarded request failed');
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.pools.values()].map((p) => p.destroy()));
    this.pools.clear();
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
      setTimeout(() => server.closeAllConnections(), 1000).unref();
    });
  }
}
