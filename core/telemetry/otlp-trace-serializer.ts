import type { Attributes } from '@opentelemetry/api';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { createRequire } from 'node:module';

/**
 * The OTLP/protobuf body of a batch of spans (ExportTraceServiceRequest), byte for byte what OpenTelemetry's
 * `ProtobufTraceSerializer` writes (test/telemetry/otlp-serializer.test.ts compares the two), at about a third of
 * its CPU. Serialization was the largest share of what tracing costs the event loop: that serializer walks every
 * span twice (a size-estimating pass, then the writing pass), re-encodes every attribute key and turns each hex id
 * into a fresh array. This one writes with the same package's `ProtobufWriter` and attribute writer in one pass
 * (the buffer sized from the previous batch), copies each attribute key's encoded bytes from a cache (the gateway's
 * keys are a few dozen constants), decodes ids in place, and encodes a resource or scope once.
 *
 * A batch holding a span with events or links (the gateway's tracing adds none) goes to the package's serializer.
 */
// Resolved from the OTLP/protobuf exporter's own dependencies: the serializer it would have used, whatever version
// of @opentelemetry/otlp-transformer that exporter pins (0.223.1 today; not a direct dependency of ours).
const require = createRequire(createRequire(import.meta.url).resolve('@opentelemetry/exporter-trace-otlp-proto'));

interface Writer {
  pos: number;
  _buffer: Uint8Array;
  _ensureCapacity(size: number): void;
  finish(): Uint8Array;
  startLengthDelimited(): number;
  finishLengthDelimited(pos: number, length: number): void;
  writeTag(fieldNumber: number, wireType: number): void;
  writeVarint(value: number): void;
  writeString(value: string): void;
  writeFixed32(value: number): void;
}
type AttributeValue = Attributes[string];

/** The package's serializer: the reference, and what a batch with events or links goes to. */
export const { ProtobufTraceSerializer } = require('@opentelemetry/otlp-transformer') as typeof import('@opentelemetry/otlp-transformer');

// Internal modules of @opentelemetry/otlp-transformer (the same ones its serializer uses; test/telemetry/otlp.ts
// reads with its ProtobufReader): the writer and the attribute, resource and scope writers. Not public API: when a
// version moves or renames them, the package's own serializer is used instead (see `fastProtobufTraceSerializer`).
interface Internals {
  ProtobufWriter: new (size: number) => Writer;
  writeAnyValue(w: Writer, value: AttributeValue): void;
  writeHrTimeAsFixed64(w: Writer, time: readonly [number, number]): void;
  writeResource(w: Writer, resource: ReadableSpan['resource'], field: number): void;
  writeInstrumentationScope(w: Writer, scope: ReadableSpan['instrumentationScope'], field: number): void;
}
function loadInternals(): Internals | undefined {
  try {
    const { ProtobufWriter } = require('@opentelemetry/otlp-transformer/build/src/common/protobuf/protobuf-writer.js') as Pick<Internals, 'ProtobufWriter'>;
    const common = require('@opentelemetry/otlp-transformer/build/src/common/protobuf/common-serializer.js') as Omit<Internals, 'ProtobufWriter'>;
    const out = { ProtobufWriter, ...common };
    for (const fn of Object.values(out)) if (typeof fn !== 'function') return undefined;
    return out;
  } catch {
    return undefined;
  }
}
const internals = loadInternals();
const ProtobufWriter = internals?.ProtobufWriter as Internals['ProtobufWriter'];
const common = internals as Internals;

const MIN_BATCH_BYTES = 16 * 1024;
let lastBatchBytes = 64 * 1024;

/** `KeyValue.key` (field 1) of each attribute key, encoded once. */
const keys = new Map<string, Uint8Array>();
const MAX_KEYS = 4096;
const encodedResources = new WeakMap<object, Uint8Array>();
const encodedScopes = new WeakMap<object, Uint8Array>();

/**
 * Whether the one-pass serializer may be used: undefined until the first batch, which is written by both and
 * compared byte for byte; false when the internals are missing, differ or threw (the package's serializer then
 * writes every batch, as it would without this file).
 */
let verified: boolean | undefined = internals ? undefined : false;

/** The one-pass serializer where it is proven to write what the package's does; the package's otherwise. */
export const fastProtobufTraceSerializer: typeof ProtobufTraceSerializer = {
  serializeRequest: (spans) => {
    if (verified === false) return ProtobufTraceSerializer.serializeRequest(spans);
    if (verified === undefined) {
      const reference = ProtobufTraceSerializer.serializeRequest(spans);
      verified = reference !== undefined && sameBytes(attempt(spans as ReadableSpan[]), reference);
      return reference;
    }
    return attempt(spans as ReadableSpan[]) ?? ProtobufTraceSerializer.serializeRequest(spans);
  },
  deserializeResponse: (data) => ProtobufTraceSerializer.deserializeResponse(data),
};

function attempt(spans: ReadableSpan[]): Uint8Array | undefined {
  try {
    return serializeTraceExportRequest(spans);
  } catch {
    verified = false;
    return undefined;
  }
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array): boolean {
  return a !== undefined && a.length === b.length && Buffer.compare(a, b) === 0;
}

/** Test hook: what the serializer decided (undefined before the first batch). */
export function fastSerializerVerified(): boolean | undefined {
  return verified;
}

export function serializeTraceExportRequest(spans: ReadableSpan[]): Uint8Array {
  if (!internals) return ProtobufTraceSerializer.serializeRequest(spans)!;
  for (const span of spans) if (span.events.length > 0 || span.links.length > 0) return ProtobufTraceSerializer.serializeRequest(spans)!;
  // Grouped by resource, then scope, by identity: the order the package's serializer writes them in.
  const byResource = new Map<object, Map<object, ReadableSpan[]>>();
  for (const span of spans) {
    let scopes = byResource.get(span.resource);
    if (!scopes) byResource.set(span.resource, (scopes = new Map()));
    let list = scopes.get(span.instrumentationScope);
    if (!list) scopes.set(span.instrumentationScope, (list = []));
    list.push(span);
  }
  const w = new ProtobufWriter(Math.max(MIN_BATCH_BYTES, Math.ceil(lastBatchBytes * 1.25)));
  for (const scopes of byResource.values()) {
    w.writeTag(1, 2); // resource_spans
    const rs = w.startLengthDelimited();
    const rsPos = w.pos;
    const first = scopes.values().next().value![0];
    writeRaw(w, encoded(encodedResources, first.resource, (x) => common.writeResource(x, first.resource, 1)));
    for (const list of scopes.values()) {
      const scope = list[0].instrumentationScope;
      w.writeTag(2, 2); // scope_spans
      const ss = w.startLengthDelimited();
      const ssPos = w.pos;
      writeRaw(w, encoded(encodedScopes, scope, (x) => common.writeInstrumentationScope(x, scope, 1)));
      for (const span of list) writeSpan(w, span);
      if (scope.schemaUrl) {
        w.writeTag(3, 2);
        w.writeString(scope.schemaUrl);
      }
      w.finishLengthDelimited(ss, w.pos - ssPos);
    }
    if (first.resource.schemaUrl) {
      w.writeTag(3, 2);
      w.writeString(first.resource.schemaUrl);
    }
    w.finishLengthDelimited(rs, w.pos - rsPos);
  }
  lastBatchBytes = w.pos;
  return w.finish();
}

function encoded(cache: WeakMap<object, Uint8Array>, key: object, write: (w: Writer) => void): Uint8Array {
  let bytes = cache.get(key);
  if (!bytes) {
    const w = new ProtobufWriter(256);
    write(w);
    cache.set(key, (bytes = w.finish().slice()));
  }
  return bytes;
}

function writeRaw(w: Writer, bytes: Uint8Array): void {
  w._ensureCapacity(bytes.length);
  w._buffer.set(bytes, w.pos);
  w.pos += bytes.length;
}

const HEX = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX['0123456789abcdef'.charCodeAt(i)] = i;
  HEX['0123456789ABCDEF'.charCodeAt(i)] = i;
}

/** A bytes field holding a hex id, decoded straight into the buffer (as `hexToBinary` would). */
function writeHexId(w: Writer, field: number, hex: string): void {
  const n = hex.length >>> 1;
  w.writeTag(field, 2);
  w.writeVarint(n);
  w._ensureCapacity(n);
  const buf = w._buffer;
  let at = w.pos;
  for (let i = 0; i < hex.length; i += 2) buf[at++] = (nibble(hex.charCodeAt(i)) << 4) | nibble(hex.charCodeAt(i + 1));
  w.pos = at;
}

/** The package's `hexToBinary` reading of a hex digit, invalid ones included. */
function nibble(c: number): number {
  const v = c < 128 ? HEX[c] : -1;
  if (v >= 0) return v;
  return c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c - 55;
}

function keyBytes(key: string): Uint8Array {
  let bytes = keys.get(key);
  if (!bytes) {
    const w = new ProtobufWriter(key.length * 3 + 8);
    w.writeTag(1, 2);
    w.writeString(key);
    bytes = w.finish().slice();
    if (keys.size < MAX_KEYS) keys.set(key, bytes);
  }
  return bytes;
}

function writeAttributes(w: Writer, attributes: Attributes): void {
  for (const key in attributes) {
    if (!Object.prototype.hasOwnProperty.call(attributes, key)) continue;
    const value = attributes[key];
    w.writeTag(9, 2); // attributes: KeyValue
    const kv = w.startLengthDelimited();
    const kvPos = w.pos;
    writeRaw(w, keyBytes(key));
    w.writeTag(2, 2); // value: AnyValue
    const v = w.startLengthDelimited();
    const vPos = w.pos;
    if (typeof value === 'string') {
      w.writeTag(1, 2);
      w.writeString(value);
    } else common.writeAnyValue(w, value);
    w.finishLengthDelimited(v, w.pos - vPos);
    w.finishLengthDelimited(kv, w.pos - kvPos);
  }
}

/** One `Span` (field 2 of ScopeSpans), its fields in the package's order. */
function writeSpan(w: Writer, span: ReadableSpan): void {
  w.writeTag(2, 2);
  const start = w.startLengthDelimited();
  const startPos = w.pos;
  const ctx = span.spanContext();
  writeHexId(w, 1, ctx.traceId);
  writeHexId(w, 2, ctx.spanId);
  const traceState = ctx.traceState?.serialize();
  if (traceState) {
    w.writeTag(3, 2);
    w.writeString(traceState);
  }
  if (span.parentSpanContext?.spanId) writeHexId(w, 4, span.parentSpanContext.spanId);
  w.writeTag(5, 2);
  w.writeString(span.name);
  const kind = span.kind == null ? 0 : span.kind + 1;
  if (kind !== 0) {
    w.writeTag(6, 0);
    w.writeVarint(kind);
  }
  w.writeTag(7, 1);
  common.writeHrTimeAsFixed64(w, span.startTime);
  w.writeTag(8, 1);
  common.writeHrTimeAsFixed64(w, span.endTime);
  if (span.attributes) writeAttributes(w, span.attributes);
  w.writeTag(10, 0);
  w.writeVarint(span.droppedAttributesCount);
  w.writeTag(12, 0);
  w.writeVarint(span.droppedEventsCount);
  w.writeTag(14, 0);
  w.writeVarint(span.droppedLinksCount);
  w.writeTag(15, 2); // status
  const st = w.startLengthDelimited();
  const stPos = w.pos;
  if (span.status.message) {
    w.writeTag(2, 2);
    w.writeString(span.status.message);
  }
  w.writeTag(3, 0);
  w.writeVarint(span.status.code);
  w.finishLengthDelimited(st, w.pos - stPos);
  // flags: the trace flags, and whether the parent is remote (SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE / _IS_REMOTE)
  w.writeTag(16, 5);
  w.writeFixed32((ctx.traceFlags & 0xff) | 0x100 | (span.parentSpanContext?.isRemote ? 0x200 : 0));
  w.finishLengthDelimited(start, w.pos - startPos);
}

/**
 * The OTLP/HTTP protobuf span exporter, as `@opentelemetry/exporter-trace-otlp-proto`'s `OTLPTraceExporter` builds
 * itself (same configuration reading, transport, retries and self-metrics), with the serializer above.
 */
export function createOtlpProtoExporter(config: { url: string; headers: Record<string, string>; timeoutMillis: number }): SpanExporter {
  const { OTLPExporterBase } = require('@opentelemetry/otlp-exporter-base') as typeof import('@opentelemetry/otlp-exporter-base');
  const http = require('@opentelemetry/otlp-exporter-base/node-http') as typeof import('@opentelemetry/otlp-exporter-base/node-http');
  const { TraceExporterMetricsHelper } = require('@opentelemetry/otlp-transformer') as typeof import('@opentelemetry/otlp-transformer');
  const options = http.convertLegacyHttpOptions(config, 'TRACES', 'v1/traces', { 'Content-Type': 'application/x-protobuf' });
  return new OTLPExporterBase(http.createOtlpHttpExportDelegate(options, fastProtobufTraceSerializer, 'otlp_http_span_exporter', TraceExporterMetricsHelper, undefined));
}
