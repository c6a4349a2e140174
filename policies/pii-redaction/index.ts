import { Readable } from 'node:stream';
import type { PiiRedactionPolicy } from '../../sdk-types/filter-policies.ts';
import { s } from '../../core/config/index.ts';
import { ErrorCodes, GatewayError } from '../../core/errors.ts';
import { bufferUpTo, isJsonType, tryParseJson } from '../../core/filters/index.ts';
import type { GatewayResponse, PolicyDefinition, RequestContext } from '../../core/pipeline/index.ts';
import { linearRegexSchema } from '../../core/regex/schema.ts';
import { compileLinear } from '../../core/regex/index.ts';
import { BUILTIN, KIND_ORDER, redactJson, redactText, textBytes, Uninspectable, type PiiPattern } from '../../core/pii/index.ts';

export const DEFAULT_MAX_SCAN_BYTES = 1024 * 1024;

interface Settings {
  patterns: readonly PiiPattern[];
  replacement: string;
  cap: number;
  oversized: 'refuse' | 'pass';
}

function isText(contentType: unknown): boolean {
  const t = String(Array.isArray(contentType) ? contentType[0] : (contentType ?? '')).toLowerCase();
  // Event streams stay streams: buffering one would hold every event until the stream ends.
  return t.startsWith('text/') && !t.startsWith('text/event-stream');
}

/** The refusal that replaces content the filter could not inspect (fail closed). */
function refusal(why: string): GatewayError {
  return new GatewayError(ErrorCodes.FILTER_CONTENT_TOO_LARGE, `piiRedaction: ${why}; refused rather than passed unredacted (see maxScanBytes and oversized)`);
}

function refuseResponse(response: GatewayResponse, why: string): void {
  if (response.body instanceof Readable) response.body.destroy();
  const err = refusal(why);
  const body = JSON.stringify(err.toJSON());
  response.status = err.status;
  response.headers = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) };
  response.body = body;
  response.errorCode = err.code;
}

/** Reads a JSON or text response (up to the cap), redacts it, and puts the result back with its new length. */
async function redactResponse(ctx: RequestContext, response: GatewayResponse, settings: Settings): Promise<void> {
  const type = response.headers['content-type'];
  const json = isJsonType(type);
  if ((!json && !isText(type)) || response.body == null) return;
  const uninspectable = (why: string) => {
    if (settings.oversized === 'pass') {
      ctx.log.warn({ route: ctx.routeName, reason: why }, 'piiRedaction: response passed unredacted (oversized: pass)');
      return;
    }
    ctx.log.warn({ route: ctx.routeName, reason: why }, 'piiRedaction: response refused');
    refuseResponse(response, why);
  };
  const encoding = response.headers['content-encoding'];
  if (encoding !== undefined && encoding !== 'identity') return uninspectable(`the response is compressed (content-encoding ${String(encoding)})`);
  const declared = Number(response.headers['content-length'] ?? 0);
  if (declared > settings.cap) return uninspectable(`the response body (${declared} bytes) is larger than maxScanBytes (${settings.cap})`);
  let buffer: Buffer;
  if (response.body instanceof Readable) {
    const original = response.body;
    const read = await bufferUpTo(original, settings.cap);
    if (!read.complete) {
      response.body = read.stream;
      // Refused: the backend's stream must be ended here, the replaying one may never have read from it.
      if (settings.oversized === 'refuse') original.destroy();
      return uninspectable(`the response body is larger than maxScanBytes (${settings.cap})`);
    }
    buffer = read.buffer;
  } else {
    buffer = Buffer.isBuffer(response.body) ? response.body : Buffer.from(response.body);
    if (buffer.length > settings.cap) return uninspectable(`the response body (${buffer.length} bytes) is larger than maxScanBytes (${settings.cap})`);
  }
  let out: string | undefined;
  try {
    const parsed = json ? tryParseJson(buffer) : undefined;
    if (parsed) {
      const r = redactJson(parsed.value, settings.patterns, settings.replacement);
      if (r.changed) out = JSON.stringify(r.value);
    } else {
      const text = buffer.toString('utf8');
      const r = redactText(text, settings.patterns, settings.replacement);
      if (r !== text) out = r;
    }
  } catch (err) {
    if (!(err instanceof Uninspectable)) throw err;
    response.body = buffer;
    return uninspectable(`the response body is ${err.message}`);
  }
  if (out === undefined) {
    response.body = buffer;
    return;
  }
  response.body = Buffer.from(out);
  response.headers['content-length'] = String(response.body.length);
  delete response.headers['transfer-encoding'];
}

/**
 * Redacts personal data (emails, phone numbers, Luhn-valid payment cards, US SSNs and UK NI numbers, plus custom
 * patterns) in JSON and text response bodies and in MCP results on their way to the client. Every pattern runs in
 * linear time on at most `maxScanBytes` of content; what cannot be inspected is refused (`oversized: 'refuse'`).
 */
export const piiRedaction: PolicyDefinition<PiiRedactionPolicy> = {
  name: 'piiRedaction',
  phase: 'requestFilter',
  schema: s.object({
    kinds: s.array(s.literal(...KIND_ORDER)),
    custom: s.array(s.object({ name: s.string({ nonEmpty: true }), regex: linearRegexSchema() }, { required: ['name', 'regex'] })),
    replacement: s.string(),
    responses: s.boolean(),
    mcpResults: s.boolean(),
    maxScanBytes: s.number({ integer: true, min: 0 }),
    maxBodyBytes: s.number({ integer: true, min: 0 }),
    oversized: s.literal('refuse', 'pass'),
  }),
  create(config) {
    const kinds = new Set(config.kinds ?? KIND_ORDER);
    const settings: Settings = {
      patterns: [
        ...(config.custom ?? []).map((c) => ({ name: c.name, regex: compileLinear(c.regex) })),
        ...KIND_ORDER.filter((k) => kinds.has(k)).map((k) => BUILTIN[k]),
      ],
      replacement: config.replacement ?? '[REDACTED:{kind}]',
      cap: config.maxScanBytes ?? config.maxBodyBytes ?? DEFAULT_MAX_SCAN_BYTES,
      oversized: config.oversized ?? 'refuse',
    };
    const responses = config.responses ?? true;
    return {
      async step(ctx, next) {
        // A compressed body cannot be redacted: ask the backend for an uncompressed one.
        if (responses) ctx.requestHeaders['accept-encoding'] = 'identity';
        await next();
        if (responses && ctx.response) await redactResponse(ctx, ctx.response, settings);
      },
      mcp:
        (config.mcpResults ?? true)
          ? {
              onResult(ctx, msg, result) {
                let why: string;
                try {
                  const size = textBytes(result, settings.cap);
                  if (size <= settings.cap) {
                    const r = redactJson(result, settings.patterns, settings.replacement);
                    return r.changed ? { action: 'continue', result: r.value } : { action: 'continue' };
                  }
                  why = `the result's text is larger than maxScanBytes (${settings.cap} bytes)`;
                } catch (err) {
                  if (!(err instanceof Uninspectable)) throw err;
                  why = `the result is ${err.message}`;
                }
                ctx.log.warn({ route: ctx.routeName, method: msg.method, reason: why }, settings.oversized === 'pass' ? 'piiRedaction: MCP result passed unredacted (oversized: pass)' : 'piiRedaction: MCP result refused');
                if (settings.oversized === 'pass') return { action: 'continue' };
                const err = refusal(why);
                return { action: 'deny', message: `${err.code}: ${err.message}` };
              },
            }
          : undefined,
    };
  },
};
