/**
 * The frames between the gateway and a sandbox host process, over one unix socket pair (the child's fd 3).
 * Binary and length-prefixed, so a call costs at most one write each way and no JSON wrapping of the JSON it carries
 * (calls the gateway issues in one turn of its event loop share one write after the first, see `SandboxHost`):
 *
 *   gateway → host:  u32 length | u32 id | u8 op | u32 sandbox | payload
 *   host → gateway:  u32 length | u32 id | u8 status | payload
 *
 * `length` counts the bytes after itself. A CALL payload is one byte (the hook's index in {@link HOOKS}) and the
 * input as UTF-8 JSON; a LOAD payload is the JSON of {@link LoadPayload}. The host answers every LOAD and CALL, in
 * the order it received them (it runs one call at a time), which is how the gateway knows, when a host dies, which
 * call was running: the oldest unanswered one. So the host never holds an answer back to batch it. An OK answer with
 * an empty payload is a call that decided nothing and logged nothing.
 */

export const HOOKS = ['onRequest', 'onResponse', 'onMcpRequest', 'onMcpResponse', 'onA2aRequest', 'onA2aResponse'] as const;

export const Op = { LOAD: 1, CALL: 2, DROP: 3 } as const;

/** What a host answers. OK carries the isolate's JSON (a call) or the module's meta (a load). */
export const Status = { OK: 0, TIMEOUT: 1, MEMORY: 2, TOO_LARGE: 3, ERROR: 4 } as const;

/** What a host writes to stderr before its watchdog thread ends it: the gateway reports the call as a timeout. */
export const OVERRUN_MESSAGE = 'a filter call ran past its time limit and could not be stopped: ending the sandbox process';
/** The same, when the process grew past what the running call's memory limit allows: reported as a memory breach. */
export const MEMORY_OVERRUN_MESSAGE = 'a filter call grew the sandbox process past twice its memory limit: ending the sandbox process';

export const REQUEST_HEADER = 13;
export const RESPONSE_HEADER = 9;

/** What a host needs to build a filter's isolate; kept by the gateway so a restarted host can build it again. */
export interface LoadPayload {
  code: string;
  configJson: string;
  name: string;
  memoryLimitMb: number;
  timeoutMs: number;
  maxResultBytes: number;
}

export function encodeRequest(id: number, op: number, sandbox: number, text: string, hookIndex = -1): Buffer {
  const prefix = hookIndex >= 0 ? 1 : 0;
  const size = Buffer.byteLength(text);
  const frame = Buffer.allocUnsafe(REQUEST_HEADER + prefix + size);
  frame.writeUInt32LE(REQUEST_HEADER - 4 + prefix + size, 0);
  frame.writeUInt32LE(id, 4);
  frame.writeUInt8(op, 8);
  frame.writeUInt32LE(sandbox, 9);
  if (prefix) frame.writeUInt8(hookIndex, REQUEST_HEADER);
  frame.write(text, REQUEST_HEADER + prefix, 'utf8');
  return frame;
}

export function encodeResponse(id: number, status: number, text: string): Buffer {
  const size = Buffer.byteLength(text);
  const frame = Buffer.allocUnsafe(RESPONSE_HEADER + size);
  frame.writeUInt32LE(RESPONSE_HEADER - 4 + size, 0);
  frame.writeUInt32LE(id, 4);
  frame.writeUInt8(status, 8);
  frame.write(text, RESPONSE_HEADER, 'utf8');
  return frame;
}

/**
 * Splits a byte stream into frames. `onFrame` gets each whole frame (length prefix included); a frame announced
 * larger than `maxFrame` is a protocol violation: `onOversize` is called and the reader stops. With `reusedChunks`
 * the caller hands in a buffer it overwrites after the call returns (a socket's `onread` buffer): frames are then
 * views that live only as long as `onFrame` runs, and whatever part of a frame waits for the rest is copied.
 */
export function createFrameReader(maxFrame: () => number, onFrame: (frame: Buffer) => void, onOversize: (size: number) => void, reusedChunks = false): (chunk: Buffer) => void {
  // Partial data is kept as a list and joined once the frame is whole: a 4 MiB frame in 64 KiB reads is one copy.
  let parts: Buffer[] = [];
  let held = 0;
  let need = 0;
  let broken = false;
  const keep = reusedChunks ? (b: Buffer) => Buffer.from(b) : (b: Buffer) => b;
  return (chunk) => {
    if (broken) return;
    if (held > 0) {
      parts.push(chunk);
      held += chunk.length;
      if (held < need) {
        parts[parts.length - 1] = keep(chunk);
        return;
      }
      chunk = Buffer.concat(parts, held);
      parts = [];
      held = 0;
    }
    let at = 0;
    while (chunk.length - at >= 4) {
      const size = chunk.readUInt32LE(at);
      if (size > maxFrame()) {
        broken = true;
        onOversize(size);
        return;
      }
      if (chunk.length - at < 4 + size) break;
      onFrame(chunk.subarray(at, at + 4 + size));
      at += 4 + size;
    }
    if (at < chunk.length) {
      const rest = keep(chunk.subarray(at));
      parts = [rest];
      held = rest.length;
      need = rest.length >= 4 ? 4 + rest.readUInt32LE(0) : 4;
    }
  };
}
