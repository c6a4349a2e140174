import { Readable } from 'node:stream';
import type { FilterRequest, FilterResponse } from '../../sdk-types/filter.ts';
import { ErrorCodes, GatewayError } from '../../core/errors.ts';
import {
  applyHeaderChanges,
  bufferUpTo,
  checkHttpDecision,
  encodeBody,
  flattenHeaders,
  isJsonType,
  parseQuery,
  tryParseJson,
  checkMcpResponseDecision,
  InvalidDecisionError,
  type HttpDecision,
  type LoadedFilter,
  type McpResponseDecision,
} from '../../core/filters/index.ts';
import type { GatewayResponse, McpResultDecision, RequestContext, Step } from '../../core/pipeline/index.ts';

/** What every hook gets besides the request or message: where the request is and who sent it. */
export function baseInput(ctx: RequestContext, request: FilterRequest): Record<string, unknown> {
  return {
    route: ctx.routeName,
    listener: ctx.listenerName,
    requestId: ctx.id,
    identity: ctx.identity,
    backend: ctx.backendName,
    request,
  };
}

/** What a filter's `ctx.log` lines carry besides the filter name, to find the request they belong to. */
export function logTags(ctx: RequestContext): Record<string, unknown> {
  return { route: ctx.routeName, requestId: ctx.id };
}

/** The request without its body, for hooks that do not read it (MCP hooks, and when no filter has onRequest). */
export function requestHead(ctx: RequestContext): FilterRequest {
  return { method: ctx.method, path: ctx.path, query: parseQuery(ctx.search), headers: flattenHeaders(ctx.requestHeaders) };
}

/**
 * What the client sees when a filter fails closed. A thrown message may carry request data, so it goes to the
 * log only; limit breaches say which limit, and an invalid decision says what is wrong with it (which header).
 */
export function failure(err: unknown, filter: LoadedFilter, ctx: RequestContext, hook: string): GatewayError {
  const e = err instanceof GatewayError ? err : new GatewayError(ErrorCodes.FILTER_FAILED, `filter "${filter.name}" failed`, { cause: err });
  ctx.log.warn({ filter: filter.name, route: ctx.routeName, hook, code: e.code, err: e.message, requestId: ctx.id, failOpen: filter.failOpen }, 'filter failed');
  if (e.code === ErrorCodes.FILTER_FAILED && !(e instanceof InvalidDecisionError)) return new GatewayError(e.code, `filter "${filter.name}" failed in ${hook}; the gateway log has the details`);
  return e;
}

/**
 * A protocol's response hook (`onMcpResponse`, `onA2aResponse`) over a result, filter by filter in the order given:
 * each sees the previous one's replacement; a failing filter denies (failClosed) or is skipped (failOpen).
 * `input` builds the hook's input around the result as it stands.
 */
export async function runResultFilters(
  filters: readonly LoadedFilter[],
  hook: 'onMcpResponse' | 'onA2aResponse',
  ctx: RequestContext,
  result: unknown,
  input: (base: Record<string, unknown>, current: unknown) => Record<string, unknown>,
): Promise<McpResultDecision> {
  let current = result;
  let changed = false;
  const request = requestHead(ctx);
  for (const filter of filters) {
    let decision: McpResponseDecision;
    try {
      decision = checkMcpResponseDecision(await filter.run(hook, input(baseInput(ctx, request), current), ctx.log, logTags(ctx)), filter.name, hook);
    } catch (err) {
      const e = failure(err, filter, ctx, hook);
      if (filter.failOpen) continue;
      return { action: 'deny', message: `${e.code}: ${e.message}` };
    }
    if (decision.action === 'deny') return { action: 'deny', message: decision.message, code: decision.code };
    if (decision.result) {
      current = decision.result.value;
      changed = true;
    }
  }
  return changed ? { action: 'continue', result: current } : { action: 'continue' };
}

/**
 * The filter's answer, framed by the gateway: the decision's headers never include framing ones (see
 * `checkHttpDecision`), so the length set here is the only one. 204 and 304 carry no body and no length; 205 an
 * empty body.
 */
function respondWith(decision: Extract<HttpDecision, { action: 'respond' }>): GatewayResponse {
  const headers: Record<string, string> = {};
  for (const [k, v] of decision.headers) headers[k] = v;
  if (decision.status === 204 || decision.status === 304) return { status: decision.status, headers, body: undefined };
  const { bytes, json } = decision.status === 205 ? { bytes: Buffer.alloc(0), json: false } : encodeBody(decision.body.value);
  if (json && headers['content-type'] === undefined) headers['content-type'] = 'application/json';
  headers['content-length'] = String(bytes.length);
  return { status: decision.status, headers, body: bytes };
}

async function readRequest(ctx: RequestContext, cap: number): Promise<FilterRequest> {
  const request = requestHead(ctx);
  const length = Number(ctx.requestHeaders['content-length'] ?? NaN);
  if (ctx.body && isJsonType(ctx.requestHeaders['content-type']) && !(length > cap)) {
    const read = await bufferUpTo(ctx.body, cap);
    if (read.complete) {
      ctx.body = Readable.from([read.buffer]);
      const parsed = tryParseJson(read.buffer);
      if (parsed) request.body = parsed.value as FilterRequest['body'];
    } else {
      ctx.body = read.stream;
    }
  }
  return request;
}

async function readResponse(response: GatewayResponse, cap: number): Promise<FilterResponse> {
  const view: FilterResponse = { status: response.status, headers: flattenHeaders(response.headers) };
  const encoded = view.headers['content-encoding'] !== undefined && view.headers['content-encoding'] !== 'identity';
  const length = Number(view.headers['content-length'] ?? NaN);
  if (!isJsonType(view.headers['content-type']) || encoded || length > cap || response.body == null) return view;
  let buffer: Buffer | undefined;
  if (response.body instanceof Readable) {
    const read = await bufferUpTo(response.body, cap);
    if (read.complete) response.body = buffer = read.buffer;
    else response.body = read.stream;
  } else {
    buffer = Buffer.isBuffer(response.body) ? response.body : Buffer.from(response.body);
  }
  if (buffer && buffer.length <= cap) {
    const parsed = tryParseJson(buffer);
    if (parsed) view.body = parsed.value as FilterResponse['body'];
  }
  return view;
}

function replaceBody(headers: Record<string, unknown>, bytes: Buffer, json: boolean): void {
  headers['content-length'] = String(bytes.length);
  delete headers['transfer-encoding'];
  if (json && headers['content-type'] === undefined) headers['content-type'] = 'application/json';
}

/**
 * The step of one filter list: request hooks in list order before the rest of the chain, response hooks in
 * reverse order on the way back (the onion order of the pipeline). A JSON body is read once, up to the largest
 * `maxBodyBytes` of the list, and each filter sees the previous filter's changes.
 */
export function createFilterStep(filters: readonly LoadedFilter[]): Step {
  const onRequest = filters.filter((f) => f.has('onRequest'));
  const onResponse = filters.filter((f) => f.has('onResponse')).reverse();
  const requestCap = Math.max(0, ...onRequest.map((f) => f.maxBodyBytes));
  const responseCap = Math.max(0, ...onResponse.map((f) => f.maxBodyBytes));

  return async function filterStep(ctx, next) {
    if (onRequest.length > 0) {
      const request = await readRequest(ctx, requestCap);
      for (const filter of onRequest) {
        let decision: HttpDecision;
        try {
          decision = checkHttpDecision(await filter.run('onRequest', baseInput(ctx, request), ctx.log, logTags(ctx)), filter.name, 'onRequest');
        } catch (err) {
          const e = failure(err, filter, ctx, 'onRequest');
          if (filter.failOpen) continue;
          throw e;
        }
        if (decision.action === 'respond') {
          ctx.body?.resume(); // the request body is not forwarded; drain it so the connection stays usable
          ctx.respond(respondWith(decision));
          return;
        }
        applyHeaderChanges(ctx.requestHeaders, decision.set, decision.remove);
        applyHeaderChanges(request.headers, decision.set, decision.remove);
        if (decision.body) {
          const { bytes, json } = encodeBody(decision.body.value);
          ctx.body = Readable.from([bytes]);
          replaceBody(ctx.requestHeaders, bytes, json);
          request.body = decision.body.value as FilterRequest['body'];
        }
      }
    }
    await next();
    if (onResponse.length === 0 || !ctx.response) return;
    const response = await readResponse(ctx.response, responseCap);
    for (const filter of onResponse) {
      let decision: HttpDecision;
      try {
        const input = { ...baseInput(ctx, requestHead(ctx)), backend: ctx.backendName, response };
        decision = checkHttpDecision(await filter.run('onResponse', input, ctx.log, logTags(ctx)), filter.name, 'onResponse');
      } catch (err) {
        const e = failure(err, filter, ctx, 'onResponse');
        if (filter.failOpen) continue;
        discard(ctx.response);
        ctx.respondError(e);
        return;
      }
      if (decision.action === 'respond') {
        discard(ctx.response);
        ctx.response = respondWith(decision);
        return;
      }
      applyHeaderChanges(ctx.response.headers, decision.set, decision.remove);
      applyHeaderChanges(response.headers, decision.set, decision.remove);
      if (decision.body) {
        const { bytes, json } = encodeBody(decision.body.value);
        discard(ctx.response);
        ctx.response.body = bytes;
        replaceBody(ctx.response.headers, bytes, json);
        response.body = decision.body.value as FilterResponse['body'];
      }
    }
  };
}

function discard(response: GatewayResponse | undefined): void {
  if (response?.body instanceof Readable) response.body.destroy();
}
