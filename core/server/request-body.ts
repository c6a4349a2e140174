import { Readable } from 'node:stream';
import { ErrorCodes, GatewayError } from '../errors.ts';
import { readWhole } from '../protocol/read-body.ts';

const EMPTY = Buffer.alloc(0);

/** Where request bytes are counted (the exchange, for the access log's `bytesIn`). */
export interface BodyCounter {
  bytesIn: number;
}

/**
 * The client's request body, as the pipeline reaches it: either whole (`readWhole`: the client's `data` chunks
 * collected into one Buffer, with no stream, iterator or promise per chunk in between) or as a stream (`stream`:
 * a {@link LimitedBody}, made only when something asks for one, for backends that pass the body through with
 * backpressure and for policies that read or replace it). Both count the bytes, enforce the size limit with the
 * same error, and start the client's body (`100 Continue`) only when first read.
 */
export class RequestBody {
  private readonly source: Readable;
  private readonly limit: number;
  private readonly counter: BodyCounter;
  private onFirstRead: (() => void) | undefined;
  /** The stream view, once something asked for it. */
  private view: Readable | undefined;
  /** Set once the body was read whole from the source: the source is spent. */
  private spent = false;
  /** An error of the source before anything read it. */
  private early: Error | undefined;
  private chunks: Buffer[] | Buffer | undefined;
  private size = 0;
  private resolve: ((body: Buffer) => void) | undefined;
  private reject: ((err: Error) => void) | undefined;

  constructor(source: Readable, limit: number, counter: BodyCounter, onFirstRead?: () => void) {
    this.source = source;
    this.limit = limit;
    this.counter = counter;
    this.onFirstRead = onFirstRead;
    // Listened from the start: a client that breaks off before anything reads the body must not crash the process.
    source.once('error', this.onError);
  }

  /** The body as a stream (made on first use); after a whole read, an empty one. */
  get stream(): Readable {
    if (this.view) return this.view;
    if (this.spent) return (this.view = Readable.from([]));
    this.source.off('error', this.onError);
    const view = (this.view = new LimitedBody(this.source, this.limit, this.counter, this.onFirstRead));
    this.onFirstRead = undefined;
    if (this.early) view.destroy(this.early);
    return view;
  }

  /** Whether the body is still the client's, unread: `readWhole` then collects it from the source itself. */
  get untouched(): boolean {
    return this.view === undefined && !this.spent;
  }

  /** The whole body in one Buffer. Fails as the stream would: over the limit, on a client gone, on a broken stream. */
  readWhole(): Promise<Buffer> {
    if (!this.untouched) return readWhole(this.view);
    this.spent = true;
    if (this.early) return Promise.reject(this.early);
    const source = this.source;
    if (source.readableEnded) return Promise.resolve(EMPTY);
    return new Promise<Buffer>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
      const first = this.onFirstRead;
      this.onFirstRead = undefined;
      first?.();
      source.on('data', this.onData).once('end', this.onEnd);
      source.resume();
    });
  }

  private readonly onData = (chunk: Buffer): void => {
    const counter = this.counter;
    counter.bytesIn += chunk.length;
    if (counter.bytesIn > this.limit) {
      // Stops reading without destroying the source, so that the 413 can still be written.
      this.detach();
      this.source.pause();
      this.settle(bodyTooLarge(this.limit));
      return;
    }
    const held = this.chunks;
    if (held === undefined) this.chunks = chunk;
    else if (Array.isArray(held)) held.push(chunk);
    else this.chunks = [held, chunk];
    this.size += chunk.length;
  };

  private readonly onEnd = (): void => {
    this.detach();
    const held = this.chunks;
    this.chunks = undefined;
    this.settle(undefined, held === undefined ? EMPTY : Array.isArray(held) ? Buffer.concat(held, this.size) : held);
  };

  private readonly onError = (err: Error): void => {
    this.detach();
    if (this.resolve) this.settle(err);
    else this.early = err;
  };

  private settle(err: Error | undefined, body?: Buffer): void {
    const resolve = this.resolve;
    const reject = this.reject;
    this.resolve = this.reject = undefined;
    if (err) reject?.(err);
    else resolve?.(body!);
  }

  private detach(): void {
    this.source.off('data', this.onData).off('end', this.onEnd).off('error', this.onError);
  }
}

/**
 * The request body as a stream: counted, cut at the size limit, and started only when first read (so that
 * `100 Continue` goes out only once something wants the body). Over the limit it fails with
 * PCL_ERR_BODY_TOO_LARGE and stops reading the source without destroying it, so the 413 can still be written.
 */
class LimitedBody extends Readable {
  private readonly source: Readable;
  private readonly limit: number;
  private readonly counter: BodyCounter;
  private onFirstRead: (() => void) | undefined;
  private started = false;

  constructor(source: Readable, limit: number, counter: BodyCounter, onFirstRead?: () => void) {
    super({ highWaterMark: 64 * 1024 });
    this.source = source;
    this.limit = limit;
    this.counter = counter;
    this.onFirstRead = onFirstRead;
    source.once('error', this.onError);
  }

  override _read(): void {
    if (this.started) {
      this.source.resume();
      return;
    }
    this.started = true;
    const first = this.onFirstRead;
    this.onFirstRead = undefined;
    first?.();
    this.source.on('data', this.onData).once('end', this.onEnd);
  }

  private readonly onData = (chunk: Buffer): void => {
    this.counter.bytesIn += chunk.length;
    if (this.counter.bytesIn > this.limit) {
      this.detach();
      this.source.pause();
      this.destroy(bodyTooLarge(this.limit));
      return;
    }
    if (!this.push(chunk)) this.source.pause();
  };

  private readonly onEnd = (): void => {
    this.detach();
    this.push(null);
  };

  private readonly onError = (err: Error): void => {
    this.detach();
    this.destroy(err);
  };

  private detach(): void {
    this.source.off('data', this.onData).off('end', this.onEnd).off('error', this.onError);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.detach();
    cb(err);
  }
}

export function bodyTooLarge(limit: number): GatewayError {
  return new GatewayError(ErrorCodes.BODY_TOO_LARGE, `request body exceeds limits.maxRequestBodyBytes (${limit} bytes)`);
}
