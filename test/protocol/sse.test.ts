import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createParser } from 'eventsource-parser';
import fc from 'fast-check';
import { createSseDecoder, encodeSseComment, encodeSseEvent, readSseEvents, SseDecodeError, type SseEvent } from '../../core/protocol/sse.ts';

/** Runs per property: enough to find chunking bugs, few enough to keep the file at a few seconds. */
const RUNS = 150;

/**
 * The WHATWG "parse an event stream" algorithm, written out literally on a whole string: the reference the codec is
 * held to. `id` is the event's own `id:` field (what SseEvent carries); `lastEventId` the spec's persistent buffer.
 */
function reference(text: string): { events: SseEvent[]; lastEventId?: string; retries: number[] } {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const lines = text.split(/\r\n|\r|\n/);
  lines.pop(); // the text after the last line ending is an incomplete line: discarded at the end of the stream
  const events: SseEvent[] = [];
  const retries: number[] = [];
  let data = '';
  let type = '';
  let id: string | undefined;
  let lastEventId: string | undefined;
  let buffer: string | undefined;
  for (const line of lines) {
    if (line === '') {
      if (data !== '') {
        // The last event id a client resumes from is the one of the last event dispatched.
        lastEventId = buffer;
        const e: SseEvent = { event: type || 'message', data: data.slice(0, -1) };
        if (id !== undefined) e.id = id;
        events.push(e);
      }
      data = '';
      type = '';
      id = undefined;
      continue;
    }
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') type = value;
    else if (field === 'data') data += `${value}\n`;
    else if (field === 'id' && !value.includes('\0')) buffer = id = value;
    else if (field === 'retry' && /^\d+$/.test(value)) retries.push(Number(value));
  }
  return { events, lastEventId, retries };
}

/** eventsource-parser fed the whole text at once: the second reference. */
function parsedWhole(text: string): SseEvent[] {
  const events: SseEvent[] = [];
  const parser = createParser({ onEvent: (m) => events.push(m.id === undefined ? { event: m.event ?? 'message', data: m.data } : { event: m.event ?? 'message', data: m.data, id: m.id }) });
  parser.feed(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  // The parser holds a final CR back in case an LF follows; the stream's end settles it as a line end.
  if (text.endsWith('\r')) parser.feed('\n');
  return events;
}

/** Decodes `bytes` pushed in the pieces `cuts` makes of them. */
function decodeChunked(bytes: Uint8Array, cuts: number[], maxEventBytes?: number) {
  const events: SseEvent[] = [];
  const retries: number[] = [];
  const errors: SseDecodeError[] = [];
  const decoder = createSseDecoder({ maxEventBytes, onEvent: (e) => events.push(e), onRetry: (ms) => retries.push(ms), onError: (e) => errors.push(e) });
  let at = 0;
  for (const cut of [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)) {
    decoder.push(bytes.subarray(at, cut));
    at = cut;
  }
  decoder.push(bytes.subarray(at));
  decoder.end();
  return { events, retries, errors, lastEventId: decoder.lastEventId };
}

// Text that exercises the UTF-8 decoder: ASCII, accents, CJK, 4-byte emoji, and the separators a field may hold.
const unit = fc.constantFrom('a', 'Z', ' ', ':', 'é', 'ß', '中', '文', '😀', '🧪', '\u00a0', '\u2028', '{', '"', '\t');
const fieldText = fc.array(unit, { maxLength: 12 }).map((a) => a.join(''));
const lineEnd = fc.constantFrom('\n', '\r\n', '\r');

/** A valid stream: events of fields in any order (each with data), comments, and any spec line endings. */
const stream = fc
  .array(
    fc.record({
      event: fc.option(fieldText, { nil: undefined }),
      id: fc.option(fieldText, { nil: undefined }),
      retry: fc.option(fc.nat(100_000), { nil: undefined }),
      data: fc.array(fieldText, { minLength: 1, maxLength: 4 }),
      comment: fc.option(fieldText, { nil: undefined }),
      space: fc.boolean(),
    }),
    { maxLength: 8 },
  )
  .chain((events) =>
    fc.tuple(fc.constant(events), fc.array(lineEnd, { minLength: 64, maxLength: 64 }), fc.boolean()).map(([evs, ends, bom]) => {
      let n = 0;
      let previous = '';
      // An LF right after a CR would merge with it into one CRLF line end: a different stream than meant.
      const end = () => (previous = previous === '\r' && ends[n % ends.length] === '\n' ? (n++, '\r') : ends[n++ % ends.length]!);
      let text = bom ? '\ufeff' : '';
      for (const e of evs) {
        const sep = e.space ? ': ' : ':';
        if (e.comment !== undefined) text += `:${e.comment}${end()}`;
        if (e.event !== undefined) text += `event${sep}${e.event}${end()}`;
        for (const d of e.data) text += `data${sep}${d}${end()}`;
        if (e.id !== undefined) text += `id${sep}${e.id}${end()}`;
        if (e.retry !== undefined) text += `retry${sep}${e.retry}${end()}`;
        text += end();
      }
      return text;
    }),
  );

describe('SSE codec (core/protocol/sse.ts)', () => {
  it('decodes every spec line ending, ids, retry and comments; a CR split from its LF across chunks is one line end', () => {
    const got = decodeChunked(new TextEncoder().encode(': hello\r\nid: 1\rretry: 1500\ndata: a\r\ndata:  b\r\r\nevent: x\ndata\n\n'), [36, 37]);
    assert.deepEqual(got.events, [
      { event: 'message', data: 'a\n b', id: '1' },
      { event: 'x', data: '' },
    ]);
    assert.deepEqual(got.retries, [1500]);
    assert.equal(got.lastEventId, '1');
  });

  it('a final bare CR ends the last line; an event without its blank line is discarded at the end', () => {
    assert.deepEqual(decodeChunked(new TextEncoder().encode('data: x\r\r'), []).events, [{ event: 'message', data: 'x' }]);
    assert.deepEqual(decodeChunked(new TextEncoder().encode('data: x\n'), []).events, []);
  });

  it('keeps multi-byte characters whole whatever byte they are split at', () => {
    const body = 'é中😀'.repeat(50);
    const bytes = new TextEncoder().encode(`data: ${body}\n\n`);
    for (let cut = 0; cut <= bytes.length; cut++) assert.equal(decodeChunked(bytes, [cut]).events[0]!.data, body);
  });

  it('refuses invalid UTF-8 instead of replacing it: SSE_INVALID_UTF8', () => {
    const got = decodeChunked(new Uint8Array([...new TextEncoder().encode('data: a'), 0xc3, 0x28, 0x0a, 0x0a]), []);
    assert.deepEqual(got.events, []);
    assert.equal(got.errors[0]!.code, 'SSE_INVALID_UTF8');
    assert.equal(got.errors[0]!.message, 'the SSE stream is not valid UTF-8');
    // A stream that ends inside a character is refused too.
    assert.equal(decodeChunked(new Uint8Array([0x64, 0x61, 0x74, 0x61, 0x3a, 0xf0, 0x9f]), []).errors[0]!.code, 'SSE_INVALID_UTF8');
  });

  it('bounds one event: an endless line and a long multi-line event are SSE_EVENT_TOO_LARGE; events under it pass', () => {
    const endless = decodeChunked(new TextEncoder().encode(`data: ${'x'.repeat(5000)}`), [1000, 2000, 3000], 1024);
    assert.equal(endless.errors.length, 1);
    assert.equal(endless.errors[0]!.code, 'SSE_EVENT_TOO_LARGE');
    assert.equal(endless.errors[0]!.message, 'an event of more than 1024 bytes (no blank line ended it within the bound)');
    const lines = decodeChunked(new TextEncoder().encode('data: 0123456789\n'.repeat(200)), [500, 1000, 1500, 2000, 2500], 1024);
    assert.equal(lines.errors[0]?.code, 'SSE_EVENT_TOO_LARGE');
    const many = decodeChunked(new TextEncoder().encode('data: 0123456789\n\n'.repeat(200)), [500, 1000, 1500, 2000, 2500], 1024);
    assert.deepEqual([many.events.length, many.errors.length], [200, 0]);
  });

  it('the bound holds for one push of a large buffer too (it is decoded in slices)', () => {
    const got = decodeChunked(new TextEncoder().encode(`data: ${'x'.repeat(1024 * 1024)}\n\n`), [], 200 * 1024);
    assert.equal(got.errors[0]?.code, 'SSE_EVENT_TOO_LARGE');
    const ok = decodeChunked(new TextEncoder().encode(`data: ${'y'.repeat(100)}\n\n`.repeat(20_000)), [], 200 * 1024);
    assert.deepEqual([ok.events.length, ok.errors.length], [20_000, 0]);
  });

  it('without onError, push throws the SseDecodeError; readSseEvents throws it from the iteration', async () => {
    const decoder = createSseDecoder({ onEvent: () => {} });
    assert.throws(() => decoder.push(new Uint8Array([0xff])), (e: unknown) => e instanceof SseDecodeError && e.code === 'SSE_INVALID_UTF8');
    async function* body() {
      yield new TextEncoder().encode('data: 1\n\n');
      yield new Uint8Array([0xff]);
    }
    const seen: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const e of readSseEvents(body())) seen.push(e.data);
      })(),
      (e: unknown) => e instanceof SseDecodeError && e.code === 'SSE_INVALID_UTF8',
    );
    assert.deepEqual(seen, ['1']);
  });

  it('readSseEvents stops with the signal', async () => {
    const controller = new AbortController();
    async function* body() {
      yield 'data: 1\n\n';
      controller.abort(new Error('stopped'));
      yield 'data: 2\n\n';
    }
    const seen: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const e of readSseEvents(body(), { signal: controller.signal })) seen.push(e.data);
      })(),
      /stopped/,
    );
    assert.deepEqual(seen, ['1']);
  });

  it('encodes multi-line data as several data lines and refuses CR/LF in the event name or id', () => {
    assert.equal(encodeSseEvent({ event: 'message', id: '7', retry: 100, data: 'a\r\nb\rc\n d' }), 'event: message\nid: 7\nretry: 100\ndata: a\ndata: b\ndata: c\ndata:  d\n\n');
    assert.throws(() => encodeSseEvent({ event: 'a\nevent: b', data: '' }), /SSE event name must not contain CR or LF/);
    assert.throws(() => encodeSseEvent({ id: '1\rdata: x', data: '' }), /SSE event id must not contain CR, LF or NUL/);
    assert.throws(() => encodeSseEvent({ data: '', retry: -1 }), /SSE retry must be a non-negative integer, got -1/);
    assert.equal(encodeSseComment('a\r\nb'), ': a b\n\n');
  });

  it('property: any chunking of a valid stream decodes to what the spec algorithm and eventsource-parser read whole', () => {
    fc.assert(
      fc.property(stream, fc.array(fc.nat(), { maxLength: 12 }), (text, cuts) => {
        const bytes = new TextEncoder().encode(text);
        const want = reference(text);
        const got = decodeChunked(bytes, cuts);
        assert.deepEqual(got.errors, []);
        assert.deepEqual(got.events, want.events);
        assert.deepEqual(got.events, parsedWhole(text));
        assert.deepEqual(got.retries, want.retries);
        assert.equal(got.lastEventId, want.lastEventId);
      }),
      { numRuns: RUNS },
    );
  });

  it('property: events before an invalid byte are delivered whatever the chunking, then SSE_INVALID_UTF8', () => {
    fc.assert(
      fc.property(stream, fc.constantFrom([0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xf0, 0x9f, 0x98]), fc.array(fc.nat(), { maxLength: 12 }), (text, bad, cuts) => {
        const bytes = new Uint8Array([...new TextEncoder().encode(text), ...bad, ...new TextEncoder().encode('\n\ndata: after\n\n')]);
        const got = decodeChunked(bytes, cuts);
        // What the stream holds before the fault (a final CR is still waiting for a possible LF there).
        const before: SseEvent[] = [];
        const parser = createParser({ onEvent: (m) => before.push(m.id === undefined ? { event: m.event ?? 'message', data: m.data } : { event: m.event ?? 'message', data: m.data, id: m.id }) });
        parser.feed(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
        assert.deepEqual(got.events, before);
        assert.deepEqual(got.errors.map((e) => e.code), ['SSE_INVALID_UTF8']);
      }),
      { numRuns: RUNS },
    );
  });

  it('property: one byte per push decodes like one push of everything', () => {
    fc.assert(
      fc.property(stream, (text) => {
        const bytes = new TextEncoder().encode(text);
        assert.deepEqual(decodeChunked(bytes, [...bytes.keys()]).events, decodeChunked(bytes, []).events);
      }),
      { numRuns: 50 },
    );
  });

  it('property: encode then decode gives the event back (line breaks in data as LF)', () => {
    const clean = fc.string({ unit: 'grapheme', maxLength: 20 }).filter((s) => !/[\r\n\0]/.test(s));
    fc.assert(
      fc.property(fc.option(clean, { nil: undefined }), fc.option(clean, { nil: undefined }), fc.string({ unit: 'grapheme', maxLength: 60 }), (event, id, data) => {
        const got = decodeChunked(new TextEncoder().encode(encodeSseEvent({ event, id, data })), []);
        const want: SseEvent = { event: event || 'message', data: data.replace(/\r\n|\r/g, '\n') };
        if (id !== undefined) want.id = id;
        assert.deepEqual(got.events, [want]);
      }),
      { numRuns: RUNS },
    );
  });

  it('property: arbitrary bytes in arbitrary chunks end in events or one SseDecodeError, never another throw, within the bound', () => {
    const max = 64;
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), fc.array(fc.nat(), { maxLength: 16 }), (bytes, cuts) => {
        let got: ReturnType<typeof decodeChunked>;
        try {
          got = decodeChunked(bytes, cuts, max);
        } catch (err) {
          assert.fail(`threw ${String(err)}`);
        }
        assert.ok(got.errors.length <= 1);
        for (const e of got.errors) assert.ok(e instanceof SseDecodeError && ['SSE_EVENT_TOO_LARGE', 'SSE_INVALID_UTF8'].includes(e.code));
        // Bytes with no line break at all can never dispatch: past the bound they must be refused.
        if (bytes.length > max && !bytes.includes(0x0a) && !bytes.includes(0x0d)) assert.equal(got.errors.length, 1);
        for (const e of got.events) assert.ok(e.data.length <= bytes.length);
      }),
      { numRuns: RUNS },
    );
  });

  it('property: readSseEvents over arbitrary chunks finishes or throws SseDecodeError only', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.string({ maxLength: 32 })), { maxLength: 16 }), async (chunks) => {
        async function* body() {
          yield* chunks;
        }
        try {
          for await (const e of readSseEvents(body(), { maxEventBytes: 128 })) assert.equal(typeof e.data, 'string');
        } catch (err) {
          assert.ok(err instanceof SseDecodeError, `threw ${String(err)}`);
        }
      }),
      { numRuns: RUNS },
    );
  });
});
