import { Readable } from 'node:stream';
import type { PiiRedactionPolicy } from '../../sdk-types/filter-policies.ts';
import { s } from '../../core/config/index.ts';
import { bufferUpTo, isJsonType, tryParseJson } from '../../core/filters/index.ts';
import type { GatewayResponse, PolicyDefinition } from '../../core/pipeline/index.ts';
import { BUILTIN, KIND_ORDER, redactJson, redactText, type PiiPattern } from './patterns.ts';

const DEFAULT_MAX_BODY = 1024 * 1024;

function isText(contentType: unknown): boolean {
  const t = String(Array.isArray(contentType) ? contentType[0] : (contentType ?? '')).toLowerCase();
  // Event streams stay streams: buffering one would hold every event until the stream ends.
  return t.startsWith('text/') && !t.startsWith('text/event-stream');
}

/** Reads a JSON or text response (up to the cap), redacts it, and puts the result back with its new length. */
async function redactResponse(response: GatewayResponse, patterns: readonly PiiPattern[], replacement: string, cap: number): Promise<void> {
  const type = response.headers['content-type'];
  const json = isJsonType(type);
  if (!json && !isText(type)) return;
  const encoding = response.headers['content-encoding'];
  if (encoding !== undefined && encoding !== 'identity') return;
  if (Number(response.headers['content-length'] ?? 0) > cap || response.body == null) return;
  let buffer: Buffer;
  if (response.body instanceof Readable) {
    const read = await bufferUpTo(response.body, cap);
    if (!read.complete) {
      response.body = read.stream; // too large to inspect: passes through unchanged
      return;
    }
    buffer = read.buffer;
  } else {
    buffer = Buffer.isBuffer(response.body) ? response.body : Buffer.from(response.body);
  }
  let out: string | undefined;
  const parsed = json ? tryParseJson(buffer) : undefined;
  if (parsed) {
    const r = redactJson(parsed.value, patterns, replacement);
    if (r.changed) out = JSON.stringify(r.value);
  } else {
    const text = buffer.toString('utf8');
    const r = redactText(text, patterns, replacement);
    if (r !== text) out = r;
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
 * patterns) in JSON and text response bodies and in MCP results on their way to the client.
 */
export const piiRedaction: PolicyDefinition<PiiRedactionPolicy> = {
  name: 'piiRedaction',
  phase: 'requestFilter',
  schema: s.object({
    kinds: s.array(s.literal(...KIND_ORDER)),
    custom: s.array(s.object({ name: s.string({ nonEmpty: true }), regex: s.regex() }, { required: ['name', 'regex'] })),
    replacement: s.string(),
    responses: s.boolean(),
    mcpResults: s.boolean(),
    maxBodyBytes: s.number({ integer: true, min: 0 }),
  }),
  create(config) {
    const kinds = new Set(config.kinds ?? KIND_ORDER);
    const patterns: PiiPattern[] = [
      ...(config.custom ?? []).map((c) => ({ name: c.name, regex: new RegExp(c.regex, 'g') })),
      ...KIND_ORDER.filter((k) => kinds.has(k)).map((k) => BUILTIN[k]),
    ];
    const replacement = config.replacement ?? '[REDACTED:{kind}]';
    const cap = config.maxBodyBytes ?? DEFAULT_MAX_BODY;
    const responses = config.responses ?? true;
    return {
      async step(ctx, next) {
        await next();
        if (responses && ctx.response) await redactResponse(ctx.response, patterns, replacement, cap);
      },
      mcp:
        (config.mcpResults ?? true)
          ? {
              onResult(_ctx, _msg, result) {
                const r = redactJson(result, patterns, replacement);
                return r.changed ? { action: 'continue', result: r.value } : { action: 'continue' };
              },
            }
          : undefined,
    };
  },
};
