import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { publish, sandboxChannel } from '../telemetry/index.ts';
import { createFrameReader, encodeRequest, MEMORY_OVERRUN_MESSAGE, Op, OVERRUN_MESSAGE, RESPONSE_HEADER, Status, type LoadPayload } from './protocol.ts';
import { siblingEntry } from '../entry.ts';

const HOST_ENTRY = fileURLToPath(siblingEntry('host', import.meta.url));
/**
 * PORTCULLIS_SANDBOX_CPU_PROF=<dir> writes a V8 CPU profile of every sandbox process there (for the bench: the
 * gateway's own profile comes from `node --cpu-prof`); such a process is then ended by closing its socket, not
 * killed, so it can write its profile.
 */
const CPU_PROF_DIR = process.env.PORTCULLIS_SANDBOX_CPU_PROF;
/** isolated-vm needs it (see core/cli/bin.mjs); the host is a fresh Node with only the flags it needs. */
export const HOST_FLAGS = ['--no-node-snapshot', ...(CPU_PROF_DIR ? ['--cpu-prof', '--cpu-prof-dir', CPU_PROF_DIR] : [])];

/** Past its filter's time limit a call gets this much longer before its host is taken for hung and killed. */
const HANG_GRACE_MS = 2000;
/** A fresh host loads isolated-vm and rebuilds its filters' isolates before it answers its first frame. */
const BOOT_GRACE_MS = 8000;
const LOAD_BUDGET_MS = 6000;
/** Consecutive crashes within this window back off: 0, 100, 200, 400 ... 5000 ms between restarts. */
const CRASH_WINDOW_MS = 30_000;
const MAX_BACKOFF_MS = 5000;
/** Calls queued for one host at most (while it restarts, or behind a slow call); more fail at once. */
const MAX_PENDING = 4096;
const STDERR_TAIL = 4096;

/** Why a call produced no value. `crashed`: the host process died while running it. */
export type SandboxFailureKind = 'timeout' | 'memory' | 'threw' | 'tooLarge' | 'unavailable' | 'crashed';

/** The part of a logger a host uses (pino's). */
export interface HostLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** One filter's place in a host: what to send to rebuild it, and whom to tell. */
export interface Slot {
  readonly id: number;
  readonly name: string;
  readonly load: LoadPayload;
  readonly loadFrame: Buffer;
  logger?: HostLogger;
  host?: SandboxHost;
  /** Set once a host crashed while running this slot's code: it then gets a host of its own. */
  quarantined: boolean;
}

/** A frame sent and not yet answered. Hosts answer in order, so the first of these is the one running. */
export interface Pending {
  readonly slot: Slot;
  readonly frame: Buffer;
  readonly op: number;
  /** How long the host may take once this frame is the one running. */
  readonly budgetMs: number;
  readonly hook?: string;
  readonly route?: string;
  /** Resent once after a host died while it waited behind another call. */
  retried: boolean;
  /** The first load of a filter (not a rebuild after a restart): if it fails, the filter is not added. */
  initial?: boolean;
  resolve(answer: { status: number; text: string }): void;
  reject(kind: SandboxFailureKind, message: string): void;
}

let nextFrameId = 1;

function frameId(): number {
  const id = nextFrameId++;
  if (nextFrameId > 0xfffffff0) nextFrameId = 1;
  return id;
}

/**
 * A supervised sandbox host process. Frames are written as calls arrive (pipelined, with ids); the host runs them
 * one at a time and answers in order. When the process dies, the call it was running fails (`crashed`, or
 * `memory` when V8 said so, or `timeout` when the gateway killed it as hung), calls queued behind it are resent
 * once to a fresh process, and the process is restarted, with backoff when it keeps dying.
 */
export class SandboxHost {
  readonly slots = new Set<Slot>();
  private child: ChildProcess | undefined;
  private socket: Socket | undefined;
  private pending = new Map<number, Pending>();
  /** Frames written after the first one of this turn of the event loop, sent together when the turn ends. */
  private batch: { socket: Socket; frames: Buffer[] } | undefined;
  /** When the first pending frame became the one running (or the host was started, before its first answer). */
  private headSince = 0;
  private answered = false;
  private crashes: number[] = [];
  private restartTimer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private killedAsHung = false;
  private stderrTail = '';
  private maxResultBytes = 0;
  private closed = false;
  private readonly onEmpty: (host: SandboxHost) => void;

  constructor(onEmpty: (host: SandboxHost) => void) {
    this.onEmpty = onEmpty;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Adds a filter and loads it; resolves with the module's meta once the host built its isolate. */
  add(slot: Slot): Promise<{ status: number; text: string }> {
    this.take(slot);
    return new Promise((resolve, reject) => {
      this.send({ slot, frame: Buffer.from(slot.loadFrame), op: Op.LOAD, budgetMs: LOAD_BUDGET_MS, retried: false, initial: true, resolve, reject: (kind, message) => reject(Object.assign(new Error(message), { kind })) });
    });
  }

  /** Makes a slot this host's without loading it now: the host loads it when it (re)starts. */
  take(slot: Slot): void {
    this.slots.add(slot);
    slot.host = this;
    this.maxResultBytes = Math.max(this.maxResultBytes, slot.load.maxResultBytes);
  }

  /** Drops a filter; a host with none left exits. */
  remove(slot: Slot): void {
    if (!this.slots.delete(slot)) return;
    slot.host = undefined;
    this.writeFrame(encodeRequest(0, Op.DROP, slot.id, ''));
    if (this.slots.size === 0) {
      this.close();
      this.onEmpty(this);
    }
  }

  call(slot: Slot, hookIndex: number, hook: string, text: string, budgetMs: number, route: string | undefined): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      if (this.pending.size >= MAX_PENDING) {
        reject(Object.assign(new Error(`${MAX_PENDING} calls already wait for this filter's sandbox process`), { kind: 'unavailable' }));
        return;
      }
      const frame = encodeRequest(0, Op.CALL, slot.id, text, hookIndex);
      this.send({ slot, frame, op: Op.CALL, budgetMs, hook, route, retried: false, resolve, reject: (kind, message) => reject(Object.assign(new Error(message), { kind })) });
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.restartTimer);
    this.stopWatchdog();
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.reject('unavailable', 'the filter was closed');
    if (CPU_PROF_DIR) this.socket?.end();
    else {
      this.child?.kill('SIGKILL');
      this.socket?.destroy();
    }
    this.child = undefined;
    this.socket = undefined;
  }

  private send(p: Pending): void {
    if (this.closed) {
      p.reject('unavailable', 'the filter was closed');
      return;
    }
    const id = frameId();
    p.frame.writeUInt32LE(id, 4);
    if (this.pending.size === 0) {
      this.headSince = performance.now();
      this.hold(true);
      this.startWatchdog();
    }
    this.pending.set(id, p);
    if (this.socket) this.writeFrame(p.frame);
    else if (!this.child && !this.restartTimer) this.start();
  }

  private start(): void {
    this.restartTimer = undefined;
    if (this.closed || this.slots.size === 0) return;
    this.killedAsHung = false;
    this.answered = false;
    this.stderrTail = '';
    const child = spawn(process.execPath, [...HOST_FLAGS, HOST_ENTRY], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
    this.child = child;
    const socket = child.stdio[3] as Socket;
    this.socket = socket;
    child.unref();
    (child.stderr as Socket).unref();
    (child.stderr as Socket).on('data', (d: Buffer) => {
      this.stderrTail = (this.stderrTail + d.toString('utf8')).slice(-STDERR_TAIL);
    });
    socket.on('data', createFrameReader(() => this.maxFrame(), (frame) => this.answer(frame), (size) => this.misbehaved(child, size)));
    socket.on('error', () => {});
    child.on('error', (err) => {
      this.stderrTail += `\n${err.message}`;
      // A process that could not be spawned at all may never report a close: fail its calls the same way.
      if (child.pid === undefined) this.exited(child, null, null);
    });
    child.on('close', (code, signal) => this.exited(child, code, signal));
    // Every filter of this host is loaded again first, then whatever waited for the host, in the same order.
    const waiting = [...this.pending.values()];
    this.pending.clear();
    for (const slot of this.slots) {
      if (waiting.some((p) => p.op === Op.LOAD && p.slot === slot)) continue;
      // A copy: the frame id is written into it, and the bytes of an earlier write may still be queued.
      this.queueFrame({ slot, frame: Buffer.from(slot.loadFrame), op: Op.LOAD, budgetMs: LOAD_BUDGET_MS, retried: false, resolve: (a) => this.reloaded(slot, a), reject: () => {} });
    }
    for (const p of waiting) this.queueFrame(p);
    this.headSince = performance.now();
    this.hold(this.pending.size > 0);
    if (this.pending.size > 0) this.startWatchdog();
  }

  /**
   * An idle host must not keep the gateway's process alive; a host with calls in flight must, until they are
   * answered or its exit is handled (the exit comes through the process handle, after the socket has closed).
   */
  private hold(on: boolean): void {
    if (on) {
      this.socket?.ref();
      this.child?.ref();
      this.restartTimer?.ref();
    } else {
      this.socket?.unref();
      this.child?.unref();
      this.restartTimer?.unref();
    }
  }

  private queueFrame(p: Pending): void {
    const id = frameId();
    p.frame.writeUInt32LE(id, 4);
    this.pending.set(id, p);
    this.writeFrame(p.frame);
  }

  /**
   * The first frame of a turn of the event loop is written at once: the host starts on it. Frames after it in the
   * same turn (other requests' calls, read from other connections in the same poll) would wait behind it anyway,
   * since the host runs one call at a time, so they go together in one write when the turn ends: one syscall, and
   * one wakeup of the host, per batch. Frames batched for a socket that has since died are dropped: `exited`
   * already queued their calls again for the next process.
   */
  private writeFrame(frame: Buffer): void {
    const socket = this.socket;
    if (!socket) return;
    if (this.batch?.socket === socket) {
      this.batch.frames.push(frame);
      return;
    }
    socket.write(frame);
    const batch = { socket, frames: [] as Buffer[] };
    this.batch = batch;
    setImmediate(() => {
      if (this.batch === batch) this.batch = undefined;
      if (batch.frames.length === 0 || this.socket !== socket) return;
      socket.write(batch.frames.length === 1 ? batch.frames[0] : Buffer.concat(batch.frames));
    });
  }

  private reloaded(slot: Slot, answer: { status: number; text: string }): void {
    if (answer.status !== Status.OK) slot.logger?.error({ filter: slot.name, err: answer.text }, 'filter could not be loaded again in its restarted sandbox process');
  }

  private maxFrame(): number {
    // A decision is at most maxResultBytes characters: up to 3 bytes each in UTF-8, plus the frame's own header.
    return this.maxResultBytes * 3 + RESPONSE_HEADER + 1024;
  }

  private answer(frame: Buffer): void {
    this.answered = true;
    const id = frame.readUInt32LE(4);
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    this.headSince = performance.now();
    if (this.pending.size === 0) this.hold(false);
    p.resolve({ status: frame.readUInt8(8), text: frame.toString('utf8', RESPONSE_HEADER) });
  }

  private misbehaved(child: ChildProcess, size: number): void {
    this.stderrTail += `\nthe sandbox process sent a frame of ${size} bytes, over the largest possible answer`;
    child.kill('SIGKILL');
  }

  private startWatchdog(): void {
    if (this.watchdog) return;
    this.watchdog = setInterval(() => this.checkHung(), 100);
    this.watchdog.unref();
  }

  private stopWatchdog(): void {
    clearInterval(this.watchdog);
    this.watchdog = undefined;
  }

  /**
   * isolated-vm stops a filter at its time limit, and the host's watchdog thread ends a call it could not stop; a
   * host that still does not answer is stuck below JavaScript. The check runs every 100 ms while calls come in (it
   * stops itself after a quiet second, so sequential calls do not each start and stop a timer).
   */
  private checkHung(): void {
    const head = this.pending.values().next().value;
    if (!head) {
      if (performance.now() - this.headSince > 1000) this.stopWatchdog();
      return;
    }
    if (!this.child || this.killedAsHung) return;
    const allowed = head.budgetMs + HANG_GRACE_MS + (this.answered ? 0 : BOOT_GRACE_MS);
    if (performance.now() - this.headSince > allowed) {
      this.killedAsHung = true;
      this.child.kill('SIGKILL');
    }
  }

  private exited(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child !== child) return;
    this.child = undefined;
    this.socket = undefined;
    this.stopWatchdog();
    if (this.closed) return;
    const pid = child.pid;
    const entries = [...this.pending.values()];
    this.pending.clear();
    const culprit = entries[0];
    const stderr = this.stderrTail.trim();
    const how = signal ? `killed by ${signal}` : code !== null ? `exited with code ${code}` : `could not start: ${stderr.split('\n').pop()}`;
    let kind: SandboxFailureKind = 'crashed';
    let why = `crashed its sandbox process (${how})`;
    if (this.killedAsHung || stderr.includes(OVERRUN_MESSAGE)) {
      kind = 'timeout';
      why = `ran longer than timeoutMs (${culprit?.budgetMs} ms) and could not be stopped; its sandbox process was ended and restarted`;
    } else if (stderr.includes(MEMORY_OVERRUN_MESSAGE)) {
      kind = 'memory';
      why = `went over memoryLimitMb (${culprit?.slot.load.memoryLimitMb} MiB) outside what the isolate could stop; its sandbox process was ended and restarted`;
    } else if (/out of memory|invalid size error|invalid array length|allocation failed|heap limit/i.test(stderr)) {
      kind = 'memory';
      why = `went over its memory limit and took its sandbox process down (${how})`;
    }
    const filters = [...this.slots].map((s) => s.name);
    const logger = culprit?.slot.logger ?? [...this.slots][0]?.logger;
    logger?.error(
      { filter: culprit?.slot.name, route: culprit?.route, hook: culprit?.hook, pid, code, signal, kind, filters, stderr: stderr.slice(-1000) || undefined },
      'filter sandbox process exited',
    );
    publish(sandboxChannel, () => ({ filter: culprit?.slot.name ?? filters.join(','), route: culprit?.route, kind: 'hostExit' as const, message: `${how}${culprit ? ` while running ${culprit.hook ?? 'the module'}` : ''}`, pid, filters }));
    // Calls that only waited behind the culprit are not at fault: they run again in the fresh process, once.
    const requeue: Pending[] = [];
    for (const [i, p] of entries.entries()) {
      if (i === 0) {
        p.reject(kind, p.op === Op.LOAD ? `loading ${why}` : `${p.hook} ${why}`);
      } else if (p.retried) {
        p.reject('crashed', `${p.hook ?? 'loading'} was interrupted twice by a crash of its sandbox process`);
      } else {
        p.retried = true;
        requeue.push(p);
      }
    }
    if (culprit?.initial) {
      // A filter that takes its process down while loading is not added (its create() fails).
      this.slots.delete(culprit.slot);
      culprit.slot.host = undefined;
    } else if (culprit) {
      // The filter that crashed a shared process gets one of its own from now on: its next crash costs no one else.
      this.isolate(culprit.slot);
    }
    for (const p of requeue) {
      // A call for a filter that has moved to another process since it was queued follows it there.
      if (p.slot.host === this) this.pending.set(frameId(), p);
      else if (p.slot.host) p.slot.host.adopt([p]);
      else p.reject('unavailable', 'the filter was closed');
    }
    if (this.slots.size === 0) {
      for (const p of this.pending.values()) p.reject('unavailable', 'the filter was closed');
      this.pending.clear();
      this.close();
      this.onEmpty(this);
      return;
    }
    const now = performance.now();
    this.crashes = this.crashes.filter((t) => now - t < CRASH_WINDOW_MS);
    this.crashes.push(now);
    const delay = this.crashes.length <= 1 ? 0 : Math.min(MAX_BACKOFF_MS, 100 * 2 ** (this.crashes.length - 2));
    publish(sandboxChannel, () => ({ filter: filters.join(','), kind: 'hostRestart' as const, message: `restarting in ${delay} ms`, filters }));
    logger?.info({ filters, delayMs: delay }, 'restarting filter sandbox process');
    this.restartTimer = setTimeout(() => this.start(), delay);
    if (this.pending.size === 0) this.restartTimer.unref();
  }

  /** Set by the pool: gives a slot a host of its own (the slot is already out of this one). */
  onQuarantine?: (slot: Slot) => void;

  /**
   * Moves a filter that broke a limit or crashed this process to a process of its own, when it shares this one:
   * from then on its loops and bombs delay and endanger no other filter. Calls of it already queued here still run
   * here (the host drops it after them).
   */
  isolate(slot: Slot): void {
    if (slot.quarantined || slot.host !== this || this.slots.size < 2) return;
    slot.quarantined = true;
    this.slots.delete(slot);
    this.writeFrame(encodeRequest(0, Op.DROP, slot.id, ''));
    this.onQuarantine?.(slot);
  }

  /** Takes over calls another host had queued for a slot (after a quarantine). */
  adopt(waiting: Pending[]): void {
    for (const p of waiting) this.send(p);
  }
}
