import type * as Grpc from '@grpc/grpc-js';
import { lazy } from '../../core/lazy.ts';
import type { CelProgram } from '../../core/cel/index.ts';
import { s } from '../../core/config/index.ts';
import type { Issue } from '../../core/schema/index.ts';
import { ErrorCodes, GatewayError } from '../../core/errors.ts';
import type { PolicyDefinition, RequestContext } from '../../core/pipeline/index.ts';
import type { RemoteRateLimitPolicy } from '../../sdk-types/remote-rate-limit.ts';
import { httpActivation } from '../authorization/index.ts';
import { decodeResponse, encodeRequest, RlsCode, SHOULD_RATE_LIMIT, type RlsEntry, type RlsHeader, type RlsRequest, type RlsResponse } from './proto.ts';
import { compileValue, remoteRateLimitSchema } from './schema.ts';

export { remoteRateLimitSchema } from './schema.ts';

/** gRPC is loaded when a config first uses a remote rate-limit service, not by every gateway. */
const loadGrpc = lazy<typeof Grpc>('@grpc/grpc-js');

/**
 * agentgateway's `remoteRateLimit`: each request is checked with an Envoy rate-limit service
 * (`envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit` over plaintext gRPC). The descriptors are built from
 * CEL expressions over the request; a descriptor whose expression fails is left out (agentgateway's per-descriptor
 * all-or-nothing), and with none left the service is not asked. `OVER_LIMIT` answers 429 with the service's
 * `response_headers_to_add`, the `x-ratelimit-*` headers of its tightest limit and its `raw_body` (a
 * `PCL_ERR_RATE_LIMITED` JSON body when it sent none); `OK` adds its `request_headers_to_add` to the request sent
 * upstream and its response headers to the response. A service that fails, errs or takes longer than `timeoutMs`
 * denies with 500 `PCL_ERR_REMOTE_RATE_LIMIT_FAILED` (`failClosed`, agentgateway's default) or lets the request
 * through (`failOpen`); either way a warning is logged.
 */

const DEFAULT_TIMEOUT_MS = 2_000;
/** An answer bigger than this is a broken service, not a rate-limit decision. */
const MAX_ANSWER_BYTES = 1024 * 1024;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Headers the service may not set: they describe the connection or the framing, which the gateway owns. */
const NOT_SETTABLE = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer', 'content-length', 'host']);

interface CompiledDescriptor {
  entries: Array<{ key: string; value: CelProgram }>;
}

export const remoteRateLimit: PolicyDefinition<RemoteRateLimitPolicy> = {
  name: 'remoteRateLimit',
  phase: 'rateLimit',
  schema: remoteRateLimitSchema,
  create(config, build) {
    const issues: Issue[] = [];
    const descriptors: CompiledDescriptor[] = config.descriptors.map((d, i) => ({
      entries: d.entries.map((e, j) => ({ key: e.key, value: compileValue(e.value, `${build.path}.descriptors[${i}].entries[${j}].value`, issues)! })),
    }));
    if (issues.length > 0) throw new GatewayError(ErrorCodes.CONFIG_INVALID, s.formatIssues(issues));
    const failOpen = config.failureMode === 'failOpen';
    const timeoutMs = config.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const grpc = loadGrpc();
    const client = new grpc.Client(config.host, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': MAX_ANSWER_BYTES,
      // Reconnect quickly after the service restarts: a request in the meantime gets the failure mode, not a wait.
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 2_000,
    });

    function ask(ctx: RequestContext, request: RlsRequest): Promise<RlsResponse> {
      return new Promise((resolve, reject) => {
        const call = client.makeUnaryRequest(
          SHOULD_RATE_LIMIT,
          encodeRequest,
          decodeResponse,
          request,
          new grpc.Metadata(),
          { deadline: Date.now() + timeoutMs },
          (err, answer) => {
            ctx.signal.removeEventListener('abort', cancel);
            if (err || !answer) reject(err ?? new Error('empty answer'));
            else resolve(answer);
          },
        );
        const cancel = () => call.cancel();
        ctx.signal.addEventListener('abort', cancel, { once: true });
      });
    }

    function buildRequest(ctx: RequestContext): RlsRequest | undefined {
      const activation = httpActivation(ctx);
      const out: RlsRequest['descriptors'] = [];
      next: for (const d of descriptors) {
        const entries: RlsEntry[] = [];
        for (const e of d.entries) {
          let value: unknown;
          try {
            value = e.value.evaluate(activation);
          } catch (err) {
            ctx.log.debug({ route: ctx.routeName, key: e.key, err: (err as Error).message }, 'remoteRateLimit descriptor left out: its expression failed');
            continue next;
          }
          const text = stringOf(value);
          if (text === undefined) {
            ctx.log.debug({ route: ctx.routeName, key: e.key }, 'remoteRateLimit descriptor left out: its value is not a string, number or boolean');
            continue next;
          }
          entries.push({ key: e.key, value: text });
        }
        out.push({ entries });
      }
      return out.length === 0 ? undefined : { domain: config.domain, descriptors: out };
    }

    return {
      async step(ctx, next) {
        const request = buildRequest(ctx);
        if (!request) return next();
        let answer: RlsResponse;
        try {
          answer = await ask(ctx, request);
        } catch (err) {
          // The client left and the check was cancelled with it: nothing to decide, nothing to log.
          if (ctx.signal.aborted) throw new GatewayError(ErrorCodes.REMOTE_RATE_LIMIT_FAILED, 'the client left before the rate-limit service answered');
          const why = describe(err as Grpc.ServiceError, timeoutMs);
          if (failOpen) {
            ctx.log.warn({ route: ctx.routeName, service: config.host, domain: config.domain, err: why }, 'rate-limit service failed: request allowed (failureMode: failOpen)');
            return next();
          }
          ctx.log.warn({ route: ctx.routeName, service: config.host, domain: config.domain, err: why }, 'rate-limit service failed: request denied (failureMode: failClosed)');
          throw new GatewayError(ErrorCodes.REMOTE_RATE_LIMIT_FAILED, `the rate-limit service ${config.host} could not decide: ${why}; the policy fails closed (set failureMode: failOpen to let requests through)`);
        }
        const headers: Record<string, string | string[]> = {};
        applyHeaders(headers, answer.responseHeadersToAdd);
        statusHeaders(headers, answer);
        if (answer.overallCode !== RlsCode.OK) {
          const err = new GatewayError(ErrorCodes.RATE_LIMITED, `rate limit of domain "${config.domain}" reached (decided by ${config.host})`);
          ctx.log.debug({ route: ctx.routeName, domain: config.domain, code: err.code }, 'request refused by the rate-limit service');
          const raw = answer.rawBody.length > 0 ? Buffer.from(answer.rawBody) : undefined;
          const body = raw ?? Buffer.from(JSON.stringify(err.toJSON()));
          if (!raw) headers['content-type'] = 'application/json';
          headers['content-length'] = String(body.length);
          ctx.respond({ status: 429, headers, body, errorCode: err.code });
          return;
        }
        applyHeaders(ctx.requestHeaders, answer.requestHeadersToAdd);
        await next();
        if (ctx.response) for (const [name, value] of Object.entries(headers)) ctx.response.headers[name] ??= value;
      },
      close: async () => client.close(),
    };
  },
};

function stringOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  return undefined;
}

/** Envoy's `HeaderValue`: `value`, or `raw_value` when `value` is empty. Invalid names and values are dropped. */
function applyHeaders(target: Record<string, string | string[] | undefined>, values: RlsHeader[]): void {
  for (const h of values) {
    const name = h.key.toLowerCase();
    if (!HEADER_NAME.test(name) || NOT_SETTABLE.has(name)) continue;
    const value = h.value !== '' ? h.value : Buffer.from(h.rawValue).toString('latin1');
    if (/[\r\n\0]/.test(value)) continue;
    target[name] = value;
  }
}

/** `x-ratelimit-limit`/`-remaining`/`-reset` of the tightest limit (fewest requests left), unless the service set them. */
function statusHeaders(headers: Record<string, string | string[]>, answer: RlsResponse): void {
  if (headers['x-ratelimit-limit'] !== undefined || headers['x-ratelimit-remaining'] !== undefined || headers['x-ratelimit-reset'] !== undefined) return;
  let best: RlsResponse['statuses'][number] | undefined;
  for (const st of answer.statuses) if (st.currentLimit && (!best || st.limitRemaining < best.limitRemaining)) best = st;
  if (!best?.currentLimit) return;
  headers['x-ratelimit-limit'] = String(best.currentLimit.requestsPerUnit);
  headers['x-ratelimit-remaining'] = String(best.limitRemaining);
  headers['x-ratelimit-reset'] = String(Math.max(0, Number(best.durationUntilReset?.seconds ?? 0)));
}

function describe(err: Grpc.ServiceError | Error, timeoutMs: number): string {
  const grpc = loadGrpc();
  const code = (err as Grpc.ServiceError).code;
  if (code === grpc.status.DEADLINE_EXCEEDED) return `no answer within ${timeoutMs} ms`;
  if (code === grpc.status.UNAVAILABLE) return `unreachable (${(err as Grpc.ServiceError).details || err.message})`;
  if (code !== undefined) return `gRPC ${grpc.status[code]}: ${(err as Grpc.ServiceError).details || err.message}`;
  return err.message;
}
