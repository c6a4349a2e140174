import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { ResolvedConfig } from '../config/index.ts';
import { ErrorCodes, GatewayError } from '../errors.ts';
import { connectionChannel, publish } from '../telemetry/index.ts';

type Limits = ResolvedConfig['limits'];

/** The answer to a connection over the limit, written raw before the HTTP parser reads anything. */
function refusal(message: string): string {
  const body = JSON.stringify(new GatewayError(ErrorCodes.CONNECTION_LIMIT, message).toJSON());
  return `HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nretry-after: 1\r\nconnection: close\r\n\r\n${body}`;
}

/**
 * Sockets answered 503 by the cap. Node's HTTP server still parses what such a client already sent (its listener
 * runs after ours), so the request handler checks here and runs nothing for them.
 */
const refusedSockets = new WeakSet<Socket>();

/** Whether the connection cap refused this socket: its requests must not reach the gateway. */
export function wasRefused(socket: Socket): boolean {
  return refusedSockets.has(socket);
}

/**
 * Caps the connections of one bind, in total and per client address, read from the running config at each
 * connection (a reload changes them for new connections). A connection over a cap is answered 503 and closed
 * (plain HTTP) or closed (HTTPS, before its handshake costs anything), and counted on the connection channel.
 * The per-address map holds open connections only, so it is bounded by the total cap.
 */
export function limitConnections(server: Server, bindKey: string, tls: boolean, limits: () => Limits): void {
  let open = 0;
  const perClient = new Map<string, number>();
  server.prependListener('connection', (socket: Socket) => {
    const { maxConnections, maxConnectionsPerClient } = limits();
    const address = socket.remoteAddress ?? '';
    const mine = perClient.get(address) ?? 0;
    const reason = open >= maxConnections ? 'maxConnections' : mine >= maxConnectionsPerClient ? 'maxConnectionsPerClient' : undefined;
    if (reason) {
      publish(connectionChannel, () => ({ kind: 'refused', bind: bindKey, reason }));
      if (tls) socket.destroy();
      else {
        const why = reason === 'maxConnections' ? `this bind already holds ${maxConnections} connections (limits.maxConnections)` : `this client address already holds ${maxConnectionsPerClient} connections (limits.maxConnectionsPerClient)`;
        refusedSockets.add(socket);
        socket.end(refusal(`connection refused: ${why}; retry later`));
        socket.once('error', () => undefined);
        setTimeout(() => socket.destroy(), 1000).unref();
      }
      return;
    }
    open++;
    perClient.set(address, mine + 1);
    socket.once('close', () => {
      open--;
      const left = (perClient.get(address) ?? 1) - 1;
      if (left <= 0) perClient.delete(address);
      else perClient.set(address, left);
    });
  });
}

/** The bind's time limits: headers (slow clients), idle keep-alive; requests themselves are unbounded (SSE). */
export function applyTimeouts(server: Server, limits: Limits): void {
  server.headersTimeout = limits.headersTimeoutMs;
  server.keepAliveTimeout = limits.idleTimeoutMs;
  server.requestTimeout = 0; // long-lived streams (SSE) are normal here; idle sockets are cut by keepAliveTimeout
}

/** How often node checks the headers timeout: often enough that a slow client is cut near its deadline. */
export function checkingIntervalMs(limits: Limits): number {
  return Math.max(100, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4)));
}
