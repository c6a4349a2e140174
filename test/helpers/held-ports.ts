/**
 * Ports for processes that must be told their port before they start (redis-server, Jaeger, a gateway started from
 * a config file, a peer that another replica must know in advance). Everything the test itself starts listens on
 * port 0 and reads the port back; this file is only for the rest.
 *
 * `freePort()` (bind port 0, read it, close, hand it on) raced: between the close and the child's bind, the kernel
 * hands the same port to any other process's port-0 listener or outgoing connection, and CI failed on it. A port
 * below the kernel's ephemeral range is never handed out that way, so the only competitors are other tests picking
 * at random from the same ~20,000 ports, and `withHeldPortRetry` covers that last chance.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

function ephemeralStart(): number {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/);
    const n = Number(low);
    return Number.isInteger(n) && n > 12_000 ? n : 32_768;
  } catch {
    return 32_768;
  }
}

const LOW = 10_000;
const HIGH = ephemeralStart();

function bindable(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** A port below the ephemeral range that nothing listens on now (checked on `host`). */
export async function portBelowEphemeralRange(host = '127.0.0.1'): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW));
    if (await bindable(port, host)) return port;
  }
  throw new Error(`no bindable port found in ${LOW}-${HIGH} after 50 tries`);
}

/** `n` distinct ports below the ephemeral range. */
export async function portsBelowEphemeralRange(n: number, host = '127.0.0.1'): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await portBelowEphemeralRange(host));
  return [...ports];
}

/**
 * Starts something on a port picked here, trying again on a fresh port when the start fails because another test
 * took the port in between (`isPortClash(error)` tells; by default a message naming EADDRINUSE or "address in use").
 */
export async function withHeldPortRetry<T>(
  start: (port: number) => Promise<T>,
  opts: { tries?: number; host?: string; isPortClash?: (error: unknown) => boolean } = {},
): Promise<T> {
  const clash = opts.isPortClash ?? ((e: unknown) => /EADDRINUSE|already in use|address in use/i.test(String((e as Error)?.message ?? e)));
  let last: unknown;
  for (let i = 0; i < (opts.tries ?? 3); i++) {
    try {
      return await start(await portBelowEphemeralRange(opts.host));
    } catch (error) {
      if (!clash(error)) throw error;
      last = error;
    }
  }
  throw last;
}
