import { fstatSync, write, writeSync } from 'node:fs';
import type { DestinationStream } from 'pino';

/** Lines held at most while the descriptor does not keep up (a stalled pipe); beyond, new lines are dropped. */
const MAX_PENDING_BYTES = 16 * 1024 * 1024;
/** How long a line may wait for others to share its write. */
const FLUSH_DELAY_MS = 10;
/** Pending bytes that are written at the end of the turn without waiting for the delay. */
const FLUSH_BYTES = 64 * 1024;

export interface LineDestination extends DestinationStream {
  /** Writes what is pending now, synchronously: at exit. */
  flushSync(): void;
  /** Lines dropped because the descriptor did not keep up. */
  readonly dropped: number;
}

const byFd = new Map<number, LineDestination>();

/**
 * Log lines to a file descriptor (stdout by default), written asynchronously and batched: the lines logged within
 * 10 ms (or 64 KiB of them) leave in one `write`. pino's async destination (sonic-boom) writes each line as soon as
 * the previous write returns, which under load is one thread-pool write per access line: a third of the gateway's
 * CPU on a plain HTTP route, a third of what the default observability adds to an MCP call. What is pending is
 * written synchronously at exit, so `process.exit` or an uncaught error loses nothing already logged (a SIGKILL
 * loses at most the last 10 ms). One destination per descriptor and process.
 */
export function lineDestination(fd = 1): LineDestination {
  const existing = byFd.get(fd);
  if (existing) return existing;
  // A regular file takes a batch into the page cache without waiting for any reader: written at once, on this
  // thread (as pino's own file destination does), rather than by a thread-pool thread that must be woken for it,
  // which on a busy core costs a context switch per batch. A pipe, a terminal or a socket may block: asynchronous.
  const toFile = isRegularFile(fd);
  let pending: string[] = [];
  let pendingBytes = 0;
  let inFlight: { buf: Buffer; offset: number } | undefined;
  let timer: NodeJS.Timeout | undefined;
  let immediate = false;
  let broken = false;
  let dropped = 0;

  const schedule = () => {
    if (pendingBytes >= FLUSH_BYTES) {
      if (immediate) return;
      immediate = true;
      setImmediate(flush);
      return;
    }
    if (timer || immediate) return;
    timer = setTimeout(flush, FLUSH_DELAY_MS);
  };
  const flush = () => {
    immediate = false;
    if (timer) {
      clearTimeout(timer);
      timer = undefined;
    }
    if (inFlight || pending.length === 0 || broken) return;
    if (toFile) return flushSync();
    const buf = Buffer.from(pending.length === 1 ? pending[0] : pending.join(''));
    pending = [];
    pendingBytes = 0;
    inFlight = { buf, offset: 0 };
    writeNext();
  };
  const writeNext = () => {
    const w = inFlight!;
    write(fd, w.buf, w.offset, w.buf.length - w.offset, null, (err, n) => {
      if (err) {
        // A non-blocking pipe that is full: try again shortly. A closed one (EPIPE) or a bad descriptor: stop.
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN') {
          setTimeout(writeNext, 10).unref();
          return;
        }
        broken = true;
        inFlight = undefined;
        return;
      }
      w.offset += n;
      if (w.offset < w.buf.length) return writeNext();
      inFlight = undefined;
      if (pending.length > 0) schedule();
    });
  };
  const flushSync = () => {
    if (broken) return;
    try {
      if (inFlight) writeAllSync(fd, inFlight.buf, inFlight.offset);
      inFlight = undefined;
      if (pending.length > 0) writeAllSync(fd, Buffer.from(pending.length === 1 ? pending[0] : pending.join('')), 0);
      pending = [];
      pendingBytes = 0;
    } catch {
      broken = true;
    }
  };
  const destination: LineDestination = {
    write(line: string) {
      if (broken) return true;
      if (pendingBytes > MAX_PENDING_BYTES) {
        dropped++;
        return true;
      }
      pending.push(line);
      pendingBytes += line.length;
      schedule();
      return true;
    },
    flushSync,
    get dropped() {
      return dropped;
    },
  };
  process.on('exit', flushSync);
  byFd.set(fd, destination);
  return destination;
}

function isRegularFile(fd: number): boolean {
  try {
    return fstatSync(fd).isFile();
  } catch {
    return false;
  }
}

/** Writes all of `buf` from `offset` (a write may take only part of it). */
function writeAllSync(fd: number, buf: Buffer, offset: number): void {
  while (offset < buf.length) offset += writeSync(fd, buf, offset);
}
