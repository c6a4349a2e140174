/**
 * A sandbox host process: the isolated-vm isolates of the filters the gateway assigned to it, and nothing else.
 * Started by `host-process.ts` with `--no-node-snapshot`; talks over fd 3 (see `protocol.ts`). It runs one call at a time,
 * inline (`applySync` with the filter's timeout), and answers in order. Whatever a filter does to V8 (a fatal
 * allocation, a heap the isolate cannot contain) can abort this process, never the gateway; the gateway restarts it.
 * It exits when the gateway closes the socket or dies.
 */
import { Socket } from 'node:net';
import ivm from 'isolated-vm';
import { initCall, PRELUDE } from './prelude.ts';
import { createFrameReader, encodeResponse, HOOKS, Op, REQUEST_HEADER, Status, type LoadPayload } from './protocol.ts';
import { guard, unguard } from './watchdog.ts';

const INIT_TIMEOUT_MS = 2000;

interface Slot {
  spec: LoadPayload;
  instance?: Instance;
  /** The options of every call of this filter, built once. */
  apply: { arguments: { copy: true }; result: { copy: true }; timeout: number };
}

interface Instance {
  isolate: ivm.Isolate;
  call: ivm.Reference<(hook: string, input: string) => string>;
}

process.title = 'portcullis-sandbox';
const slots = new Map<number, Slot>();
/** Reads land in this one buffer (no allocation and no stream 'data' event per read); see createFrameReader. */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);
const channel = new Socket({
  fd: 3,
  readable: true,
  writable: true,
  // The gateway trusts itself: its frames are as large as the bundles it loads.
  onread: {
    buffer: READ_BUFFER,
    callback: (n) => {
      read(READ_BUFFER.subarray(0, n));
      return true;
    },
  },
});
const read = createFrameReader(() => 0xffffffff, handle, () => process.exit(65), true);

function start(spec: LoadPayload): { instance: Instance; meta: string } {
  const isolate = new ivm.Isolate({
    memoryLimit: spec.memoryLimitMb,
    // V8 lost control of an isolate: this process is not safe to keep. Exiting makes the gateway fail the call and
    // start a fresh host.
    onCatastrophicError: (message) => {
      process.stderr.write(`catastrophic isolate error in filter "${spec.name}": ${message}\n`);
      process.exit(70);
    },
  });
  guard(3 * INIT_TIMEOUT_MS, spec.memoryLimitMb);
  try {
    const context = isolate.createContextSync();
    context.evalSync(PRELUDE, { timeout: INIT_TIMEOUT_MS });
    const script = isolate.compileScriptSync(spec.code, { filename: `filter:${spec.name}` });
    script.runSync(context, { timeout: INIT_TIMEOUT_MS });
    script.release();
    const meta = context.evalSync(initCall(spec.configJson, spec.maxResultBytes), { timeout: INIT_TIMEOUT_MS, copy: true }) as string;
    const call = context.global.getSync('__pcl_call', { reference: true }) as Instance['call'];
    return { instance: { isolate, call }, meta };
  } catch (err) {
    if (!isolate.isDisposed) isolate.dispose();
    throw err;
  } finally {
    unguard();
  }
}

/** An error's message, short enough for any frame (a module may throw a megabyte-long message while loading). */
function describe(err: unknown): string {
  return String((err as Error)?.message ?? err).slice(0, 2000);
}

function retire(slot: Slot): void {
  const isolate = slot.instance?.isolate;
  slot.instance = undefined;
  if (isolate && !isolate.isDisposed) isolate.dispose();
}

function call(slot: Slot, hook: string, input: string): [number, string] {
  if (!slot.instance) {
    try {
      slot.instance = start(slot.spec).instance;
    } catch (err) {
      return [Status.ERROR, `the filter could not restart: ${describe(err)}`];
    }
  }
  const instance = slot.instance;
  try {
    guard(slot.spec.timeoutMs, slot.spec.memoryLimitMb);
    const out = instance.call.applySync(undefined, [hook, input], slot.apply);
    unguard();
    if (typeof out !== 'string' || out.length > slot.spec.maxResultBytes) return [Status.TOO_LARGE, ''];
    return [Status.OK, out];
  } catch (err) {
    unguard();
    const message = (err as Error)?.message ?? String(err);
    if (/timed out/i.test(message)) {
      retire(slot);
      return [Status.TIMEOUT, ''];
    }
    if (/memory limit/i.test(message) || /allocation failed/i.test(message) || instance.isolate.isDisposed) {
      retire(slot);
      return [Status.MEMORY, ''];
    }
    return [Status.ERROR, describe(err)];
  }
}

function handle(frame: Buffer): void {
  const id = frame.readUInt32LE(4);
  const op = frame.readUInt8(8);
  const sandbox = frame.readUInt32LE(9);
  if (op === Op.CALL) {
    const slot = slots.get(sandbox);
    const hook = HOOKS[frame.readUInt8(REQUEST_HEADER)];
    const [status, text] = slot ? call(slot, hook, frame.toString('utf8', REQUEST_HEADER + 1)) : [Status.ERROR, 'the filter is not loaded'];
    channel.write(encodeResponse(id, status, text));
  } else if (op === Op.LOAD) {
    const spec = JSON.parse(frame.toString('utf8', REQUEST_HEADER)) as LoadPayload;
    const old = slots.get(sandbox);
    if (old) retire(old);
    try {
      const { instance, meta } = start(spec);
      slots.set(sandbox, { spec, instance, apply: { arguments: { copy: true }, result: { copy: true }, timeout: spec.timeoutMs } });
      channel.write(encodeResponse(id, Status.OK, meta));
    } catch (err) {
      slots.delete(sandbox);
      channel.write(encodeResponse(id, Status.ERROR, describe(err)));
    }
  } else if (op === Op.DROP) {
    const slot = slots.get(sandbox);
    if (slot) retire(slot);
    slots.delete(sandbox);
  }
}

// The gateway closed the socket or died (even by SIGKILL): nothing is left to serve.
channel.on('end', () => process.exit(0));
channel.on('close', () => process.exit(0));
channel.on('error', () => process.exit(0));
