import type { Context } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, Span, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';

/**
 * A bounded export queue in front of any span processor: at most `max` spans wait for export; a span that would
 * go beyond is dropped and counted (`queue_full`), and an export that fails (endpoint unreachable, slow past its
 * timeout, refused) counts its spans as `export_failed`. Nothing here ever blocks or throws on the request path.
 *
 * `inner` must export every span it is given through the `CountingExporter` this queue made (that is how a span
 * leaves the queue).
 */
export type SpanOutcome = 'exported' | 'queue_full' | 'export_failed';

export class ExportQueue {
  private pending = 0;
  private readonly max: number;
  private readonly count: (outcome: SpanOutcome, n: number) => void;

  constructor(max: number, count: (outcome: SpanOutcome, n: number) => void) {
    this.max = max;
    this.count = count;
  }

  /** Wraps the exporter whose results settle queued spans. */
  exporter(inner: SpanExporter): SpanExporter {
    return new CountingExporter(inner, (ok, n) => {
      this.pending = Math.max(0, this.pending - n);
      this.count(ok ? 'exported' : 'export_failed', n);
    });
  }

  /** Wraps the processor that holds the queue. */
  processor(inner: SpanProcessor): SpanProcessor {
    return new BoundedProcessor(inner, () => {
      if (this.pending >= this.max) {
        this.count('queue_full', 1);
        return false;
      }
      this.pending++;
      return true;
    });
  }

  get size(): number {
    return this.pending;
  }
}

class CountingExporter implements SpanExporter {
  private readonly inner: SpanExporter;
  private readonly settled: (ok: boolean, n: number) => void;

  constructor(inner: SpanExporter, settled: (ok: boolean, n: number) => void) {
    this.inner = inner;
    this.settled = settled;
  }

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    let once = false;
    const finish = (result: ExportResult) => {
      if (once) return;
      once = true;
      this.settled(result.code === ExportResultCode.SUCCESS, spans.length);
      done(result);
    };
    try {
      this.inner.export(spans, finish);
    } catch (err) {
      finish({ code: ExportResultCode.FAILED, error: err as Error });
    }
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

class BoundedProcessor implements SpanProcessor {
  private readonly inner: SpanProcessor;
  private readonly admit: () => boolean;

  constructor(inner: SpanProcessor, admit: () => boolean) {
    this.inner = inner;
    this.admit = admit;
  }

  onStart(span: Span, parentContext: Context): void {
    this.inner.onStart(span, parentContext);
  }

  onEnd(span: ReadableSpan): void {
    if (this.admit()) this.inner.onEnd(span);
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}
