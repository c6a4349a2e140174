import { publish, sandboxChannel } from '../telemetry/index.ts';
import { SandboxHost, type HostLogger, type SandboxFailureKind, type Slot } from './host-process.ts';
import { encodeRequest, HOOKS, Op, Status, type LoadPayload } from './protocol.ts';

export type { HostLogger, SandboxFailureKind };

/** Limits of one sandbox. */
export interface SandboxLimits {
  /** Heap limit of the isolate (ArrayBuffers included); isolated-vm disposes an isolate that goes over it. Minimum 8. */
  memoryLimitMb: number;
  /** Wall time one call may run; the isolate is replaced after a breach. */
  timeoutMs: number;
  /** Largest JSON text accepted into a call and out of it. */
  maxResultBytes: number;
}

export interface SandboxOptions extends SandboxLimits {
  /** A script that leaves the module's exports in the global `__pcl_module` (esbuild `iife` + `globalName`). */
  code: string;
  /** Passed to the module once, frozen, as `ctx.config`. */
  config: unknown;
  /** Name for messages. */
  name: string;
  /** Where the sandbox process's exits and restarts are logged. */
  logger?: HostLogger;
  /** Called when an isolate is replaced after a breach, for the log. */
  onReplace?: (reason: SandboxFailureKind) => void;
}

/** A call that did not produce a value; `kind` says why. */
export class SandboxError extends Error {
  readonly kind: SandboxFailureKind;
  readonly logs: SandboxLog[];
  constructor(kind: SandboxFailureKind, message: string, logs: SandboxLog[] = []) {
    super(message);
    this.name = 'SandboxError';
    this.kind = kind;
    this.logs = logs;
  }
}

export interface SandboxLog {
  message: string;
  fields?: Record<string, unknown>;
}

export interface SandboxResult {
  value: unknown;
  logs: SandboxLog[];
}

// The sandbox processes of this gateway process. Filters share one; a filter that once crashed it gets its own.
// Module-level like the type-check worker: a process resource that lives exactly as long as some filter uses it
// (the last filter to close ends it), across reloads, whoever loaded the filter (a gateway or the test harness).
let shared: SandboxHost | undefined;
const hosts = new Set<SandboxHost>();

function createHost(): SandboxHost {
  const host = new SandboxHost((h) => {
    hosts.delete(h);
    if (shared === h) shared = undefined;
  });
  host.onQuarantine = (slot) => {
    createHost().take(slot);
    slot.logger?.warn({ filter: slot.name }, 'filter moved to a sandbox process of its own after breaking a limit');
  };
  hosts.add(host);
  return host;
}

/** The running sandbox processes and the filters each holds, for tests (kill one, watch it come back). Not API. */
export function sandboxHosts(): Array<{ pid: number; filters: string[] }> {
  const out: Array<{ pid: number; filters: string[] }> = [];
  for (const h of hosts) if (h.pid !== undefined) out.push({ pid: h.pid, filters: [...h.slots].map((s) => s.name) });
  return out;
}

let nextSlotId = 1;

/**
 * One filter module in its own isolate, in a sandbox process (see `host.ts`). Calls cross as copied JSON text,
 * bounded by `maxResultBytes` both ways; concurrent requests never share a call's data: each gets its own parsed
 * copy. A limit breach replaces the isolate; a crash of the process fails the call that caused it and nothing
 * else, and the process is restarted.
 */
export class Sandbox {
  readonly name: string;
  /** Hooks the module defines, and the `name` it gave itself. */
  readonly hooks: ReadonlySet<string>;
  readonly filterName: string | undefined;
  private readonly options: SandboxOptions;
  private readonly slot: Slot;
  private closed = false;
  /** Number of isolates replaced after a breach, for tests and metrics. */
  replacements = 0;

  private constructor(options: SandboxOptions, slot: Slot, meta: { name: string | null; hooks: string[] }) {
    this.options = options;
    this.name = options.name;
    this.slot = slot;
    this.hooks = new Set(meta.hooks);
    this.filterName = meta.name ?? undefined;
  }

  /** Builds the isolate in a sandbox process; a module that throws, loops or crashes while loading fails here. */
  static async create(options: SandboxOptions): Promise<Sandbox> {
    const id = nextSlotId++;
    const load: LoadPayload = {
      code: options.code,
      configJson: JSON.stringify(options.config ?? {}),
      name: options.name,
      memoryLimitMb: options.memoryLimitMb,
      timeoutMs: options.timeoutMs,
      maxResultBytes: options.maxResultBytes,
    };
    const slot: Slot = { id, name: options.name, load, loadFrame: encodeRequest(0, Op.LOAD, id, JSON.stringify(load)), logger: options.logger, quarantined: false };
    if (!shared) {
      shared = createHost();
    }
    const host = shared;
    let answer;
    try {
      answer = await host.add(slot);
    } catch (err) {
      throw new SandboxError((err as { kind?: SandboxFailureKind }).kind ?? 'unavailable', (err as Error).message);
    }
    if (answer.status !== Status.OK) {
      slot.host?.remove(slot);
      throw new SandboxError('threw', answer.text);
    }
    return new Sandbox(options, slot, JSON.parse(answer.text) as { name: string | null; hooks: string[] });
  }

  /** The sandbox process this filter runs in now (tests kill it). Not part of the API. */
  get hostPid(): number | undefined {
    return this.slot.host?.pid;
  }

  /** Runs one hook with `input` (serialized to JSON here); resolves to its decision value and log lines. */
  async call(hook: string, input: unknown, route?: string): Promise<SandboxResult> {
    const text = JSON.stringify(input) ?? 'null';
    if (text.length > this.options.maxResultBytes) {
      throw new SandboxError('tooLarge', `the data for ${hook} is ${text.length} bytes, over maxResultBytes (${this.options.maxResultBytes})`);
    }
    const host = this.slot.host;
    if (this.closed || !host) throw new SandboxError('unavailable', `filter "${this.name}" is closed`);
    let answer;
    try {
      answer = await host.call(this.slot, HOOKS.indexOf(hook as (typeof HOOKS)[number]), hook, text, this.options.timeoutMs, route);
    } catch (err) {
      const kind = (err as { kind?: SandboxFailureKind }).kind ?? 'unavailable';
      // The watchdog ended the whole sandbox process over this call's breach: the filter's isolate is new as well.
      if (kind === 'timeout' || kind === 'memory') this.replaced(kind, route);
      throw new SandboxError(kind, (err as Error).message);
    }
    switch (answer.status) {
      case Status.OK:
        return this.decode(answer.text);
      case Status.TIMEOUT:
        this.slot.host?.isolate(this.slot);
        this.replaced('timeout', route);
        throw new SandboxError('timeout', `${hook} ran longer than timeoutMs (${this.options.timeoutMs} ms)`);
      case Status.MEMORY:
        this.slot.host?.isolate(this.slot);
        this.replaced('memory', route);
        throw new SandboxError('memory', `${hook} went over memoryLimitMb (${this.options.memoryLimitMb} MiB)`);
      case Status.TOO_LARGE:
        throw new SandboxError('tooLarge', `the decision is over maxResultBytes (${this.options.maxResultBytes})`);
      default:
        throw new SandboxError('unavailable', `${hook} could not run: ${answer.text}`);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.slot.host?.remove(this.slot);
  }

  private decode(out: string): SandboxResult {
    if (out === '') return { value: null, logs: [] };
    const parsed = JSON.parse(out) as { ok: boolean; value?: unknown; error?: string; tooLarge?: number; logs: SandboxLog[] };
    if (parsed.tooLarge !== undefined) {
      throw new SandboxError('tooLarge', `the decision is ${parsed.tooLarge} bytes, over maxResultBytes (${this.options.maxResultBytes})`);
    }
    if (!parsed.ok) throw new SandboxError('threw', parsed.error ?? 'failed', parsed.logs);
    return { value: parsed.value, logs: parsed.logs };
  }

  private replaced(reason: SandboxFailureKind, route: string | undefined): void {
    this.replacements++;
    this.options.onReplace?.(reason);
    publish(sandboxChannel, () => ({ filter: this.name, route, kind: 'replaced' as const, message: reason }));
  }
}
