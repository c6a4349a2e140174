import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'undici';
import { ErrorCodes, GatewayError } from '../errors.ts';
import { announcesBody, errorResponse, type HandoffChannel, type ServeEnv } from '../server/exchange.ts';
import { handleRequest } from '../server/handler.ts';
import { stripHopByHop } from '../pipeline/index.ts';
import { relayAnswer } from './relay.ts';
import { ownerOfSessionId } from '../replica/index.ts';

/** Carries, from the worker that received a request to the owner, what the owner cannot see itself. */
const HANDOFF_HEADER = 'x-portcullis-handoff';
const SESSION_HEADER = 'mcp-session-id';

/** Where the handoff sockets of one supervisor's workers live: private to the user that runs the gateway. */
export function handoffDir(supervisorPid: number = process.ppid): string {
  return join(tmpdir(), `portcullis-${supervisorPid}`);
}

/**
 * The local channel between workers for stateful MCP sessions. A session lives in the worker that opened it (its
 * upstream processes, its streams); its id names that worker (identity.ts). A request for it that the kernel gave
 * to another worker is passed, as HTTP over a unix socket, to the owner, which serves it exactly as if it had
 * arrived on the bind itself; the response streams back the same way. Stateless traffic never takes this path:
 * the check is one header lookup.
 */
export class SessionHandoff implements HandoffChannel {
  readonly index: number;
  readonly path: string;
  /** Requests this worker handed to another, and requests it served for another. */
  handedOut = 0;
  servedFor = 0;
  private readonly peers = new Map<number, { path: string; client: Client }>();
  private server: Server | undefined;
  private env: ServeEnv | undefined;

  constructor(index: number, dir: string = handoffDir()) {
    this.index = index;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.path = join(dir, `w${index}.sock`);
  }

  /** The gateway whose runtime serves requests handed to this worker. */
  attach(env: ServeEnv): void {
    this.env = env;
  }

  async listen(): Promise<string> {
    rmSync(this.path, { force: true });
    const server = (this.server = createServer((req, res) => this.serve(req, res)));
    server.keepAliveTimeout = 65_000;
    server.requestTimeout = 0;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // exclusive: in a cluster worker, a listen would otherwise go through the supervisor's shared handle.
      server.listen({ path: this.path, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    chmodSync(this.path, 0o600);
    // The binds keep a worker alive; this channel alone must not (a worker told to stop by a signal exits).
    server.unref();
    return this.path;
  }

  /** The channels to the other workers (the supervisor sends them whenever a worker starts). */
  setPeers(paths: Record<number, string>): void {
    for (const [key, path] of Object.entries(paths)) {
      const index = Number(key);
      if (index === this.index) continue;
      const known = this.peers.get(index);
      if (known?.path === path) continue;
      void known?.client.close();
      // No time limits of undici's own (300 s): the owner enforces the route's timeouts, and a long tool call must not
      // read as a dead owner (every failure below means the session is gone). A dead worker closes its socket.
      this.peers.set(index, { path, client: new Client('http://portcullis-worker', { socketPath: path, keepAliveTimeout: 60_000, pipelining: 1, headersTimeout: 0, bodyTimeout: 0 }) });
    }
  }

  ownerOf(req: IncomingMessage): number | undefined {
    const header = req.headers[SESSION_HEADER];
    let id: string | undefined = typeof header === 'string' ? header : undefined;
    if (id === undefined) {
      // The legacy SSE transport names the session in the query of its message POSTs.
      const url = req.url ?? '';
      const at = url.indexOf('sessionId=');
      if (at === -1 || url.indexOf('?') === -1) return undefined;
      const end = url.indexOf('&', at);
      try {
        id = decodeURIComponent(url.slice(at + 10, end === -1 ? undefined : end));
      } catch {
        return undefined; // a malformed escape names no session: the request is served here, and refused there
      }
    }
    const owner = ownerOfSessionId(id);
    return owner !== undefined && owner !== this.index && this.peers.has(owner) ? owner : undefined;
  }

  forward(owner: number, req: IncomingMessage, res: ServerResponse, bindKey: string, scheme: 'http' | 'https', expectContinue: boolean): Promise<void> {
    const peer = this.peers.get(owner)!;
    this.handedOut++;
    const logger = this.env?.logger;
    if (logger?.isLevelEnabled('debug')) logger.debug({ owner, method: req.method, path: req.url }, 'handed to owner');
    const headers = stripHopByHop(req.headers) as Record<string, string | string[]>;
    delete headers.expect;
    headers[HANDOFF_HEADER] = `${scheme} ${req.socket.remoteAddress ?? ''} ${bindKey}`;
    const hasBody = announcesBody(req.headers);
    if (expectContinue && hasBody) res.writeContinue();
    const abort = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) abort.abort(new Error('client closed the connection'));
    });
    return peer.client
      .request({ path: req.url ?? '/', method: (req.method ?? 'GET') as 'GET', headers, body: hasBody ? req : undefined, signal: abort.signal })
      .then((answer) => relayAnswer(answer, res))
      .catch((err: Error & { code?: string }) => {
        if (res.headersSent || abort.signal.aborted) return void res.destroy();
        // The owner is gone (it died, its socket with it): its sessions went with it, so the session does not exist.
        // Internal details (the socket's path) stay in the log.
        logger?.warn({ owner, err: err.message, code: err.code }, 'the worker that owns a session did not answer');
        // Refused, reset, closed, gone: whichever way the hand-off failed before an answer, the session cannot be
        // served any more (its worker holds it, and that worker is dead or dying): the client must initialize again.
        const e = errorResponse(new GatewayError(ErrorCodes.MCP_SESSION_NOT_FOUND, 'MCP session does not exist: the worker that held it ended; initialize a new one'));
        res.writeHead(e.status, e.headers as Record<string, string>);
        res.end(e.body as string);
      });
  }

  private serve(req: IncomingMessage, res: ServerResponse): void {
    const env = this.env;
    const origin = req.headers[HANDOFF_HEADER];
    if (typeof origin !== 'string' || !env) {
      res.writeHead(400).end();
      return;
    }
    this.servedFor++;
    delete req.headers[HANDOFF_HEADER];
    const [scheme, clientAddress, ...bind] = origin.split(' ');
    handleRequest(env, bind.join(' '), scheme === 'https' ? 'https' : 'http', req, res, false, clientAddress).catch((err) => {
      env.logger.error({ err }, 'handed-off request failed');
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  }

  async close(): Promise<void> {
    for (const p of this.peers.values()) void p.client.destroy();
    this.peers.clear();
    const server = this.server;
    if (server) {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 1000).unref();
      });
    }
    rmSync(this.path, { force: true });
  }
}
