import { compileAccessLogShape, type ResolvedAccessLogShape } from './access-log-shape.ts';
import { pino } from 'pino';
import { messageChannel, requestChannel, type MessageEvent, type RequestEvent } from './events.ts';
import { GENERIC_PROTOCOL_TELEMETRY, protocolTelemetry } from './protocols.ts';
import type { Logger } from './logger.ts';
import { redactString } from './redact.ts';

const { streamSym, chindingsSym, needsMetadataGsym } = pino.symbols;

/**
 * The line exactly as the logger would write it (level, time, the logger's bindings, the fields, the message), built
 * with one JSON.stringify of a flat object: pino's generic path (its serializers, the level formatter and the one
 * redaction's walk over every key) cost more than everything else the access log does. Its keys are fixed and name
 * no secret; its string values go through the one redaction (a path's `?token=`, a client-chosen request id).
 * Undefined when the logger writes somewhere that needs pino's own bookkeeping (a multistream): log through it then.
 */
function directWriter(logger: Logger): ((fields: Record<string, unknown>, msg: string) => void) | undefined {
  const holder = logger as unknown as Record<symbol, unknown>;
  const stream = holder[streamSym] as { write(line: string): unknown; [k: symbol]: unknown } | undefined;
  if (!stream || typeof stream.write !== 'function' || stream[needsMetadataGsym]) return undefined;
  return (fields, msg) => {
    for (const k in fields) {
      const v = fields[k];
      if (typeof v === 'string') fields[k] = redactString(v);
    }
    const body = JSON.stringify(fields);
    const bindings = holder[chindingsSym] as string;
    stream.write(`{"level":"info","time":"${isoTime(Date.now())}"${bindings}${body.length > 2 ? `,${body.slice(1, -1)}` : ''},"msg":${JSON.stringify(msg)}}\n`);
  };
}

let isoSecond = -1;
let isoPrefix = '';
/**
 * `new Date(ms).toISOString()` (pino's `isoTime`, as the line must read), with the part up to the second made once
 * a second: building it cost more than the rest of the line's time field.
 */
export function isoTime(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== isoSecond) {
    isoSecond = second;
    isoPrefix = new Date(second * 1000).toISOString().slice(0, 20);
  }
  const milli = ms - second * 1000;
  return `${isoPrefix}${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
}

/** Requests whose protocol message is remembered at most at once, until their line is written. */
const MAX_PENDING = 10_000;

/**
 * The access log: a subscriber to the request events that writes one line per request when its response is done
 * (or its client left). `gateway` limits it to the requests of one gateway (`RequestEvent.gateway`), since several
 * gateways may share a process. Returns the unsubscribe function.
 *
 * Field names shared with spans, metrics and the audit log (`trace_id`, `span_id`, `enduser.id`,
 * `mcp.method.name`, `gen_ai.tool.name`, `mcp.session.id`) let a line be joined with the trace and audit lines of
 * the same request. The message fields name the request's (last) protocol message; its protocol's descriptor
 * (protocols.ts) says which they are.
 */
export function subscribeAccessLog(logger: Logger, gateway?: string, shape?: ResolvedAccessLogShape): () => void {
  // The line's shape (filter, added and removed fields), compiled once here; without one a line costs what it did.
  const shaped = shape && compileAccessLogShape(shape);
  const messages = new Map<string, MessageEvent>();
  const direct = directWriter(logger);
  const onMessage = (message: unknown) => {
    const m = message as MessageEvent;
    if (messages.size < MAX_PENDING || messages.has(m.requestId)) messages.set(m.requestId, m);
  };
  const onEnd = (message: unknown) => {
    const e = message as RequestEvent;
    const m = messages.get(e.id);
    if (m) messages.delete(e.id);
    // The line is built only when it is written: a level raised at run time costs no object per request.
    if (e.gateway !== gateway || !logger.isLevelEnabled('info')) return;
    const fields: Record<string, unknown> = {
      type: 'access',
      listener: e.listener,
      route: e.route,
      backend: e.backend,
      method: e.method,
      path: e.path,
      status: e.status ?? 0,
      durationMs: Math.round((e.durationMs ?? 0) * 100) / 100,
      bytesIn: e.bytesIn ?? 0,
      bytesOut: e.bytesOut ?? 0,
      client: e.clientAddress,
      errorCode: e.errorCode,
      request_id: e.id,
      trace_id: e.traceId,
      span_id: e.spanId,
      'enduser.id': e.subject,
    };
    if (m) {
      const d = protocolTelemetry(m.protocol);
      Object.assign(fields, d?.accessLogFields ? d.accessLogFields(m) : GENERIC_PROTOCOL_TELEMETRY.accessLogFields!(m));
    }
    if (shaped && !shaped.apply(fields, e, m)) return;
    if (direct) direct(fields, 'request');
    else logger.info(fields, 'request');
  };
  messageChannel.asyncEnd.subscribe(onMessage);
  requestChannel.end.subscribe(onEnd);
  return () => {
    messageChannel.asyncEnd.unsubscribe(onMessage);
    requestChannel.end.unsubscribe(onEnd);
  };
}
