import ivm from 'isolated-vm';
import { initCall, PRELUDE } from './prelude.ts';

/** Limits of one sandbox. */
export interface SandboxLimits {
  /** Heap limit of the isolate; isolated-vm disposes an isolate that goes over it. Minimum 8. */
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
  /** Called when an isolate is replaced after a breach, for the log. */
  onReplace?: (reason: SandboxFailureKind) => void;
  /** Called if V8 loses control of an isolate (isolated-vm's catastrophic error): the operator must know. */
  onCatastrophicError?: (message: string) => void;
}

export type SandboxFailureKind = 'timeout' | 'memory' | 'threw' | 'tooLarge' | 'unavailable';

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

interface Instance {
  isolate: ivm.Isolate;
  context: ivm.Context;
  call: ivm.Reference<(hook: string, input: string) => string>;
}

const INIT_TIMEOUT_MS = 2000;

/**
 * One filter module in its own isolate. Calls run inline (applySync: a few microseconds) while the filter
 * behaves; after its first breach of a limit they run on isolated-vm's thread (apply), so a filter that loops or
 * bloats on some inputs stalls the event loop at most once. Calls are serialized by the isolate either way, so
 * concurrent requests never share a call's data: each gets its own parsed copy.
 */
export class Sandbox {
  readonly name: string;
  /** Hooks the module defines, and the `name` it gave itself. */
  readonly hooks: ReadonlySet<string>;
  readonly filterName: string | undefined;
  private readonly options: SandboxOptions;
  private readonly configJson: string;
  private instance: Instance | undefined;
  private starting: Promise<Instance> | undefined;
  private inline = true;
  private closed = false;
  /** Number of isolates replaced after a breach, for tests and metrics. */
  replacements = 0;

  private constructor(options: SandboxOptions, instance: Instance, meta: { name: string | null; hooks: string[] }, configJson: string) {
    this.options = options;
    this.name = options.name;
    this.instance = instance;
    this.hooks = new Set(meta.hooks);
    this.filterName = meta.name ?? undefined;
    this.configJson = configJson;
  }

  /** Builds the first isolate; a module that throws while loading or exports no hooks fails here. */
  static async create(options: SandboxOptions): Promise<Sandbox> {
    const configJson = JSON.stringify(options.config ?? {});
    const { instance, meta } = await startInstance(options, configJson);
    return new Sandbox(options, instance, meta, configJson);
  }

  get mode(): 'inline' | 'thread' {
    return this.inline ? 'inline' : 'thread';
  }

  /** Runs one hook with `input` (serialized to JSON here); resolves to its decision value and log lines. */
  async call(hook: string, input: unknown): Promise<SandboxResult> {
    const text = JSON.stringify(input);
    if (text.length > this.options.maxResultBytes) {
      throw new SandboxError('tooLarge', `the data for ${hook} is ${text.length} bytes, over maxResultBytes (${this.options.maxResultBytes})`);
    }
    // One retry: a call queued behind another call's breach finds its isolate disposed through no fault of its own.
    for (let attempt = 0; ; attempt++) {
      const instance = this.instance ?? (await this.restart());
      try {
        return this.decode(await this.invoke(instance, hook, text));
      } catch (err) {
        if (err instanceof SandboxError) throw err;
        const message = (err as Error)?.message ?? String(err);
        if (/timed out/i.test(message)) {
          this.retire(instance, 'timeout');
          throw new SandboxError('timeout', `${hook} ran longer than timeoutMs (${this.options.timeoutMs} ms)`);
        }
        if (/memory limit/i.test(message)) {
          this.retire(instance, 'memory');
          throw new SandboxError('memory', `${hook} went over memoryLimitMb (${this.options.memoryLimitMb} MiB)`);
        }
        if (instance.isolate.isDisposed && attempt === 0 && !this.closed) {
          if (this.instance === instance) this.instance = undefined;
          continue;
        }
        throw new SandboxError('unavailable', `${hook} could not run: ${message}`);
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const instance = this.instance;
    this.instance = undefined;
    if (instance && !instance.isolate.isDisposed) instance.isolate.dispose();
  }

  private invoke(instance: Instance, hook: string, text: string): string | Promise<string> {
    const opts = { arguments: { copy: true }, result: { copy: true }, timeout: this.options.timeoutMs } as const;
    if (this.inline) return instance.call.applySync(undefined, [hook, text], opts) as string;
    return instance.call.apply(undefined, [hook, text], opts) as Promise<string>;
  }

  private decode(out: unknown): SandboxResult {
    if (typeof out !== 'string' || out.length > this.options.maxResultBytes) {
      throw new SandboxError('tooLarge', `the decision is over maxResultBytes (${this.options.maxResultBytes})`);
    }
    const parsed = JSON.parse(out) as { ok: boolean; value?: unknown; error?: string; tooLarge?: number; logs: SandboxLog[] };
    if (parsed.tooLarge !== undefined) {
      throw new SandboxError('tooLarge', `the decision is ${parsed.tooLarge} bytes, over maxResultBytes (${this.options.maxResultBytes})`);
    }
    if (!parsed.ok) throw new SandboxError('threw', parsed.error ?? 'failed', parsed.logs);
    return { value: parsed.value, logs: parsed.logs };
  }

  /** Drops an isolate that broke a limit; the next call starts a fresh one, off the event loop from now on. */
  private retire(instance: Instance, reason: SandboxFailureKind): void {
    this.inline = false;
    if (this.instance === instance) this.instance = undefined;
    if (!instance.isolate.isDisposed) instance.isolate.dispose();
    this.replacements++;
    this.options.onReplace?.(reason);
  }

  private restart(): Promise<Instance> {
    if (this.closed) return Promise.reject(new SandboxError('unavailable', `filter "${this.name}" is closed`));
    this.starting ??= startInstance(this.options, this.configJson).then(
      ({ instance }) => {
        this.starting = undefined;
        if (this.closed) {
          instance.isolate.dispose();
          throw new SandboxError('unavailable', `filter "${this.name}" is closed`);
        }
        this.instance = instance;
        return instance;
      },
      (err) => {
        this.starting = undefined;
        throw new SandboxError('unavailable', `filter "${this.name}" could not restart: ${(err as Error).message}`);
      },
    );
    return this.starting;
  }
}

async function startInstance(options: SandboxOptions, configJson: string): Promise<{ instance: Instance; meta: { name: string | null; hooks: string[] } }> {
  const isolate = new ivm.Isolate({ memoryLimit: options.memoryLimitMb, onCatastrophicError: options.onCatastrophicError });
  try {
    const context = await isolate.createContext();
    await context.eval(PRELUDE, { timeout: INIT_TIMEOUT_MS });
    const script = await isolate.compileScript(options.code, { filename: `filter:${options.name}` });
    await script.run(context, { timeout: INIT_TIMEOUT_MS });
    script.release();
    const meta = JSON.parse(await context.eval(initCall(configJson, options.maxResultBytes), { timeout: INIT_TIMEOUT_MS, copy: true })) as {
      name: string | null;
      hooks: string[];
    };
    const call = (await context.global.get('__pcl_call', { reference: true })) as Instance['call'];
    return { instance: { isolate, context, call }, meta };
  } catch (err) {
    if (!isolate.isDisposed) isolate.dispose();
    throw err;
  }
}
