// OTLP/HTTP trace requests, decoded for the tests: the protobuf wire format is read with OpenTelemetry's own
// protobuf reader (@opentelemetry/otlp-transformer's ProtobufReader, the one its exporters use for responses),
// following the field numbers of opentelemetry-proto (collector/trace/v1, trace/v1, common/v1, resource/v1). The
// decoder is checked against the same package's ProtobufTraceSerializer in langfuse.test.ts.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { ProtobufReader } = require('@opentelemetry/otlp-transformer/build/src/common/protobuf/protobuf-reader.js') as {
  ProtobufReader: new (buf: Uint8Array) => {
    pos: number;
    isAtEnd(): boolean;
    readTag(): { fieldNumber: number; wireType: number };
    readVarint(): number;
    readBytes(): Uint8Array;
    readString(): string;
    skip(wireType: number): void;
  };
};

export type AttrValue = string | number | boolean | AttrValue[] | { [k: string]: AttrValue } | null;

export interface DecodedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  traceState: string;
  name: string;
  kind: number;
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  attributes: Record<string, AttrValue>;
  status: { code: number; message: string };
  resource: Record<string, AttrValue>;
  scope: string;
}

type Reader = InstanceType<typeof ProtobufReader>;

function each(buf: Uint8Array, on: (field: number, wire: number, r: Reader, buf: Uint8Array) => void): void {
  const r = new ProtobufReader(buf);
  while (!r.isAtEnd()) {
    const { fieldNumber, wireType } = r.readTag();
    const before = r.pos;
    on(fieldNumber, wireType, r, buf);
    if (r.pos === before) r.skip(wireType);
  }
}

function fixed64(r: Reader, buf: Uint8Array): DataView {
  const at = r.pos;
  r.skip(1);
  return new DataView(buf.buffer, buf.byteOffset + at, 8);
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function anyValue(buf: Uint8Array): AttrValue {
  let out: AttrValue = null;
  each(buf, (f, w, r, b) => {
    if (f === 1 && w === 2) out = r.readString();
    else if (f === 2 && w === 0) out = r.readVarint() !== 0;
    else if (f === 3 && w === 0) out = r.readVarint();
    else if (f === 4 && w === 1) out = fixed64(r, b).getFloat64(0, true);
    else if (f === 5 && w === 2) {
      const arr: AttrValue[] = [];
      each(r.readBytes(), (f2, w2, r2) => {
        if (f2 === 1 && w2 === 2) arr.push(anyValue(r2.readBytes()));
      });
      out = arr;
    } else if (f === 6 && w === 2) out = keyValues(r.readBytes());
    else if (f === 7 && w === 2) out = hex(r.readBytes());
  });
  return out;
}

/** A KeyValueList (or a run of KeyValue fields at field 1). */
function keyValues(buf: Uint8Array, field = 1): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  each(buf, (f, w, r) => {
    if (f === field && w === 2) Object.assign(out, keyValue(r.readBytes()));
  });
  return out;
}

function keyValue(buf: Uint8Array): Record<string, AttrValue> {
  let key = '';
  let value: AttrValue = null;
  each(buf, (f, w, r) => {
    if (f === 1 && w === 2) key = r.readString();
    else if (f === 2 && w === 2) value = anyValue(r.readBytes());
  });
  return { [key]: value };
}

function span(buf: Uint8Array, resource: Record<string, AttrValue>, scope: string): DecodedSpan {
  const s: DecodedSpan = { traceId: '', spanId: '', parentSpanId: '', traceState: '', name: '', kind: 0, startTimeUnixNano: 0n, endTimeUnixNano: 0n, attributes: {}, status: { code: 0, message: '' }, resource, scope };
  each(buf, (f, w, r, b) => {
    if (f === 1 && w === 2) s.traceId = hex(r.readBytes());
    else if (f === 2 && w === 2) s.spanId = hex(r.readBytes());
    else if (f === 3 && w === 2) s.traceState = r.readString();
    else if (f === 4 && w === 2) s.parentSpanId = hex(r.readBytes());
    else if (f === 5 && w === 2) s.name = r.readString();
    else if (f === 6 && w === 0) s.kind = r.readVarint();
    else if (f === 7 && w === 1) s.startTimeUnixNano = fixed64(r, b).getBigUint64(0, true);
    else if (f === 8 && w === 1) s.endTimeUnixNano = fixed64(r, b).getBigUint64(0, true);
    else if (f === 9 && w === 2) Object.assign(s.attributes, keyValue(r.readBytes()));
    else if (f === 15 && w === 2) {
      each(r.readBytes(), (f2, w2, r2) => {
        if (f2 === 2 && w2 === 2) s.status.message = r2.readString();
        else if (f2 === 3 && w2 === 0) s.status.code = r2.readVarint();
      });
    }
  });
  return s;
}

/** Every span of an ExportTraceServiceRequest, with its resource attributes and scope name. */
export function decodeTraceRequest(body: Uint8Array): DecodedSpan[] {
  const spans: DecodedSpan[] = [];
  each(body, (f, w, r) => {
    if (f !== 1 || w !== 2) return;
    const rs = r.readBytes();
    let resource: Record<string, AttrValue> = {};
    const scopes: Uint8Array[] = [];
    each(rs, (f2, w2, r2) => {
      if (f2 === 1 && w2 === 2) resource = keyValues(r2.readBytes());
      else if (f2 === 2 && w2 === 2) scopes.push(r2.readBytes());
    });
    for (const ss of scopes) {
      let scope = '';
      const raw: Uint8Array[] = [];
      each(ss, (f3, w3, r3) => {
        if (f3 === 1 && w3 === 2) {
          each(r3.readBytes(), (f4, w4, r4) => {
            if (f4 === 1 && w4 === 2) scope = r4.readString();
          });
        } else if (f3 === 2 && w3 === 2) raw.push(r3.readBytes());
      });
      for (const sp of raw) spans.push(span(sp, resource, scope));
    }
  });
  return spans;
}

export interface OtlpReceiver {
  url: string;
  port: number;
  spans: DecodedSpan[];
  requests: Array<{ path: string; headers: IncomingHttpHeaders; contentType: string; spans: number }>;
  /** Requests refused (wrong path, method, credentials or content type), with the status sent. */
  refused: Array<{ path: string; status: number }>;
  waitFor(pred: (spans: DecodedSpan[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * A local receiver of Langfuse's OTLP endpoint (`POST /api/public/otel/v1/traces`), as Langfuse serves it: Basic
 * auth with the public/secret key pair (401 otherwise), protobuf or JSON bodies. Without `auth` it is a plain OTLP
 * receiver at `/v1/traces`. `delayMs` answers slowly (a slow backend).
 */
export async function startOtlpReceiver(options: { auth?: { publicKey: string; secretKey: string }; delayMs?: number } = {}): Promise<OtlpReceiver> {
  const path = options.auth ? '/api/public/otel/v1/traces' : '/v1/traces';
  const spans: DecodedSpan[] = [];
  const requests: OtlpReceiver['requests'] = [];
  const refused: OtlpReceiver['refused'] = [];
  /** Slow answers not sent yet: close cancels them rather than keeping the process up until they fire. */
  const pending = new Set<NodeJS.Timeout>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const refuse = (status: number) => {
        refused.push({ path: req.url ?? '', status });
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ message: `refused with ${status}` }));
      };
      if (req.method !== 'POST' || req.url !== path) return refuse(404);
      if (options.auth) {
        const expected = `Basic ${Buffer.from(`${options.auth.publicKey}:${options.auth.secretKey}`).toString('base64')}`;
        if (req.headers.authorization !== expected) return refuse(401);
      }
      const type = String(req.headers['content-type'] ?? '');
      const body = Buffer.concat(chunks);
      let decoded: DecodedSpan[];
      if (type.startsWith('application/x-protobuf')) decoded = decodeTraceRequest(new Uint8Array(body));
      else return refuse(415);
      spans.push(...decoded);
      requests.push({ path: req.url, headers: req.headers, contentType: type, spans: decoded.length });
      const answer = () => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      if (options.delayMs) {
        const timer = setTimeout(() => {
          pending.delete(timer);
          answer();
        }, options.delayMs);
        pending.add(timer);
      } else answer();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    spans,
    requests,
    refused,
    async waitFor(pred, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs;
      while (Date.now() < until) {
        if (pred(spans)) return;
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error(`receiver: condition not met within ${timeoutMs} ms; spans: ${spans.map((s) => s.name).join(', ')}`);
    },
    close: () =>
      new Promise((r) => {
        for (const timer of pending) clearTimeout(timer);
        pending.clear();
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
