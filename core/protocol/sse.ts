/**
 * The one server-sent-events codec of the gateway, its upstream transports, its admin API and the admin UI (which
 * bundles this file: no Node-only imports here). Lines are split by the maintained `eventsource-parser`; this file
 * adds what a proxy needs around it: streaming UTF-8 decoding that refuses invalid bytes instead of replacing them
 * (a proxy must not alter data), a bound on the bytes of one event, the last event id for resumption, and an
 * encoder that cannot be tricked into writing two events.
 */
import { createParser, type EventSourceMessage } from 'eventsource-parser';

/** One dispatched event. `event` is `'message'` when the stream named none; `id` is the event's own `id:` field. */
export interface SseEvent {
  event: string;
  data: string;
  id?: string;
}

/** Why a stream cannot be decoded. Stable codes; the decoder is finished after one. */
export type SseDecodeErrorCode =
  /** One event (or an endless line) grew past `maxEventBytes` before its blank line came. */
  | 'SSE_EVENT_TOO_LARGE'
  /** The bytes are not UTF-8 (or the stream ended inside a multi-byte character). */
  | 'SSE_INVALID_UTF8'
  /** `push` after the decoder ended or failed. */
  | 'SSE_DECODER_FINISHED';

export class SseDecodeError extends Error {
  readonly code: SseDecodeErrorCode;
  constructor(code: SseDecodeErrorCode, message: string) {
    super(message);
    this.name = 'SseDecodeError';
    this.code = code;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** What one event may weigh unless told otherwise: 16 MiB, well above any tool result a client would want. */
export const DEFAULT_MAX_SSE_EVENT_BYTES = 16 * 1024 * 1024;

/** Input is decoded and parsed in slices of at most this many bytes, so the size bound holds within one slice. */
const SLICE_BYTES = 64 * 1024;

export interface SseDecoderOptions {
  /** Bytes since the last dispatched event after which the stream is refused. @default 16 MiB */
  maxEventBytes?: number;
  onEvent(e: SseEvent): void;
  onRetry?(ms: number): void;
  /** Called once when the stream cannot be decoded; without it, `push`/`end` throw the error. */
  onError?(err: SseDecodeError): void;
}

export interface SseDecoder {
  push(chunk: Uint8Array | string): void;
  /** The stream ended: a final bare CR completes its line; an event without its blank line is discarded (per spec). */
  end(): void;
  /** The last `id:` seen, to send as `Last-Event-ID` when reconnecting. */
  readonly lastEventId: string | undefined;
}

export function createSseDecoder(o: SseDecoderOptions): SseDecoder {
  const max = o.maxEventBytes ?? DEFAULT_MAX_SSE_EVENT_BYTES;
  if (!(max > 0)) throw new RangeError(`maxEventBytes: expected a positive number, got ${max}`);
  // Whole characters only are decoded (by one shared, stateless decoder); an incomplete one at the end of a slice
  // waits in `carry` for the rest. A streaming TextDecoder per stream would do that too, but it cannot say after an
  // error which bytes before it were valid, and each one holds a native converter until the GC finalizes it.
  let carry: Uint8Array | undefined;
  let atStart = true;
  let lastEventId: string | undefined;
  let sinceEvent = 0;
  let dispatched = false;
  let lastChar = '';
  let finished = false;
  let failure: SseDecodeError | undefined;
  const parser = createParser({
    onEvent(m: EventSourceMessage) {
      dispatched = true;
      if (m.id !== undefined) lastEventId = m.id;
      if (failure) return;
      o.onEvent(m.id === undefined ? { event: m.event ?? 'message', data: m.data } : { event: m.event ?? 'message', data: m.data, id: m.id });
    },
    onRetry: (ms) => o.onRetry?.(ms),
    // Unknown fields and a bad `retry` are ignored, as the spec says.
  });

  const fail = (err: SseDecodeError): void => {
    failure = err;
    finished = true;
    if (o.onError) o.onError(err);
    else throw err;
  };

  const feed = (text: string, bytes: number): void => {
    if (text === '') return;
    sinceEvent += bytes;
    dispatched = false;
    lastChar = text[text.length - 1]!;
    parser.feed(text);
    if (dispatched) sinceEvent = 0;
    else if (sinceEvent > max) fail(new SseDecodeError('SSE_EVENT_TOO_LARGE', `an event of more than ${max} bytes (no blank line ended it within the bound)`));
  };

  /** The spec's one BOM, at the very start of the stream, is not part of it. */
  const bom = (text: string): string => {
    if (!atStart || text === '') return text;
    atStart = false;
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  };

  return {
    push(chunk) {
      if (finished) {
        if (failure) return;
        throw new SseDecodeError('SSE_DECODER_FINISHED', 'the SSE stream already ended');
      }
      if (typeof chunk === 'string') {
        for (let i = 0; i < chunk.length && !finished; i += SLICE_BYTES) {
          const slice = chunk.slice(i, i + SLICE_BYTES);
          feed(slice, slice.length);
        }
        return;
      }
      for (let i = 0; i < chunk.length && !finished; i += SLICE_BYTES) {
        const slice = chunk.subarray(i, i + SLICE_BYTES);
        const bytes = carry ? concat(carry, slice) : slice;
        const whole = wholeCharacters(bytes);
        carry = whole < bytes.length ? bytes.slice(whole) : undefined;
        let text: string;
        try {
          text = utf8.decode(bytes.subarray(0, whole));
        } catch {
          // The events before the fault are still delivered; then the stream is refused.
          feed(bom(new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes.subarray(0, validPrefix(bytes.subarray(0, whole))), { stream: true })), slice.length);
          if (!finished) fail(new SseDecodeError('SSE_INVALID_UTF8', 'the SSE stream is not valid UTF-8'));
          return;
        }
        feed(bom(text), slice.length);
      }
    },
    end() {
      if (finished) return;
      if (carry) return fail(new SseDecodeError('SSE_INVALID_UTF8', 'the SSE stream ended inside a UTF-8 character'));
      // eventsource-parser holds a final CR back in case an LF follows; at the end, CR alone ends the line.
      if (!finished && lastChar === '\r') parser.feed('\n');
      finished = true;
      parser.reset();
    },
    get lastEventId() {
      return lastEventId;
    },
  };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** How many leading bytes hold whole characters: all, unless the last (up to 4) bytes start a longer one. */
function wholeCharacters(bytes: Uint8Array): number {
  let i = bytes.length - 1;
  while (i >= 0 && bytes.length - i <= 3 && (bytes[i]! & 0xc0) === 0x80) i--;
  if (i < 0) return bytes.length;
  const lead = bytes[i]!;
  const need = lead >= 0xf0 && lead <= 0xf4 ? 4 : lead >= 0xe0 && lead < 0xf0 ? 3 : lead >= 0xc2 && lead < 0xe0 ? 2 : 1;
  return bytes.length - i < need ? i : bytes.length;
}

/** The longest prefix with no invalid sequence (a streaming decode of it succeeds): only on the error path. */
function validPrefix(bytes: Uint8Array): number {
  let lo = 0;
  let hi = bytes.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, mid), { stream: true });
      lo = mid;
    } catch {
      hi = mid - 1;
    }
  }
  return lo;
}

/**
 * The events of a byte stream, as they arrive. Throws SseDecodeError when the stream cannot be decoded, and the
 * signal's reason when it aborts.
 */
export async function* readSseEvents(
  body: AsyncIterable<Uint8Array | string>,
  o: { maxEventBytes?: number; onRetry?(ms: number): void; signal?: AbortSignal } = {},
): AsyncGenerator<SseEvent> {
  const queue: SseEvent[] = [];
  const decoder = createSseDecoder({ maxEventBytes: o.maxEventBytes, onRetry: o.onRetry, onEvent: (e) => queue.push(e) });
  o.signal?.throwIfAborted();
  for await (const chunk of body) {
    o.signal?.throwIfAborted();
    decoder.push(chunk);
    while (queue.length > 0) yield queue.shift()!;
  }
  decoder.end();
  while (queue.length > 0) yield queue.shift()!;
}

const LINE_BREAK = /\r\n|\r|\n/;

/**
 * One event in wire form, ending in its blank line. Data with line breaks becomes several `data:` lines (the
 * decoder joins them with LF); a CR or LF in `event` or `id`, a NUL in `id`, or a bad `retry` is refused, since it
 * would let the data write fields or events of its own.
 */
export function encodeSseEvent(e: { event?: string; data: string; id?: string; retry?: number }): string {
  let out = '';
  if (e.event !== undefined) {
    if (/[\r\n]/.test(e.event)) throw new TypeError('SSE event name must not contain CR or LF');
    out += `event: ${e.event}\n`;
  }
  if (e.id !== undefined) {
    if (/[\r\n\0]/.test(e.id)) throw new TypeError('SSE event id must not contain CR, LF or NUL');
    out += `id: ${e.id}\n`;
  }
  if (e.retry !== undefined) {
    if (!Number.isSafeInteger(e.retry) || e.retry < 0) throw new TypeError(`SSE retry must be a non-negative integer, got ${e.retry}`);
    out += `retry: ${e.retry}\n`;
  }
  for (const line of e.data.split(LINE_BREAK)) out += `data: ${line}\n`;
  return `${out}\n`;
}

/** A comment line (keep-alive); line breaks in the text are replaced so it stays one comment. */
export function encodeSseComment(text: string): string {
  return `: ${text.replace(/[\r\n]+/g, ' ')}\n\n`;
}
