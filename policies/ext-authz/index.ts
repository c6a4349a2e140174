import { Agent, request } from 'undici';
import type { ExtAuthzPolicy } from '../../sdk-types/security.ts';
import { compileCelSetting, createCelEnvironment, toCelValue, type CelProgram } from '../../core/cel/index.ts';
import { hostPortSchema, s } from '../../core/config/index.ts';
import type { Issue, Schema } from '../../core/schema/index.ts';
import { ErrorCodes, GatewayError } from '../../core/errors.ts';
import type { PolicyDefinition, RequestContext } from '../../core/pipeline/index.ts';
import { stateKey } from '../../core/state/index.ts';
import { LOG_VARIABLES } from '../../core/telemetry/index.ts';
import { CEL_VARIABLES, httpActivation } from '../authorization/index.ts';

/**
 * An external HTTP authorizer decides each request (agentgateway's `extAuthz` with `protocol: { http: {} }`): the
 * oauth2-proxy pattern. The gateway sends the authorizer the request's method and path (or the CEL `path`), the
 * headers it names (`includeRequestHeaders`, `Authorization` by default; `cookie` for oauth2-proxy) and the CEL
 * `addRequestHeaders`. A 2xx answer lets the request through, with the authorizer's `includeResponseHeaders`
 * copied onto it and the CEL `metadata` (over `response.headers`, `response.status`) kept for the access log as
 * `extauthz.<key>`; a 401 or 403 with `redirect` set sends the browser there (oauth2-proxy's sign-in page);
 * any other answer is passed to the client as it came. An authorizer that cannot be reached within 2 s denies
 * (403 `PCL_ERR_EXT_AUTHZ_FAILED`) unless `failureMode: allow`.
 */

/** The `metadata` an authorizer's answer produced, for the access log (`extauthz.<key>`). */
export const EXT_AUTHZ_METADATA = stateKey<Record<string, unknown>>('extAuthz.metadata');

const TIMEOUT_MS = 2_000;
let env: ReturnType<typeof createCelEnvironment> | undefined;
const celEnv = () => (env ??= createCelEnvironment([...CEL_VARIABLES, 'response']));
const compile = (expr: unknown, path: string, issues: Issue[], types: readonly string[] | 'any'): CelProgram | undefined =>
  compileCelSetting(celEnv(), expr, path, issues, types);


const celString = (types: readonly string[]): Schema => ({
  describe: 'CEL expression',
  check: (v, p, issues) => void compile(v, p, issues, types),
  jsonSchema: () => ({ type: 'string', description: 'a CEL expression' }),
});
const STRING = ['string'];
const ANY = ['bool', 'int', 'uint', 'double', 'string', 'bytes', 'list', 'map', 'null'];

const httpSchema = s.object({
  path: celString(STRING),
  redirect: celString(STRING),
  addRequestHeaders: s.record(celString(STRING)),
  includeResponseHeaders: s.array(s.string({ pattern: /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, patternHint: 'an HTTP header name' })),
  metadata: s.record(celString(ANY)),
});

export const extAuthz: PolicyDefinition<ExtAuthzPolicy> = {
  name: 'extAuthz',
  phase: 'authorization',
  schema: s.object(
    {
      host: hostPortSchema,
      protocol: s.object({ http: httpSchema }, { required: ['http'] }),
      includeRequestHeaders: s.array(s.string({ pattern: /^:?[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, patternHint: 'an HTTP header name' })),
      failureMode: s.literal('allow', 'deny'),
    },
    { required: ['host', 'protocol'] },
  ),
  create(config, build) {
    const issues: Issue[] = [];
    const http = config.protocol.http;
    const p = `${build.path}.protocol.http`;
    const path = http.path === undefined ? undefined : compile(http.path, `${p}.path`, issues, STRING);
    const redirect = http.redirect === undefined ? undefined : compile(http.redirect, `${p}.redirect`, issues, STRING);
    const addHeaders = Object.entries(http.addRequestHeaders ?? {}).map(([name, expr]) => [name.toLowerCase(), compile(expr, `${p}.addRequestHeaders.${name}`, issues, STRING)] as const);
    const metadata = Object.entries(http.metadata ?? {}).map(([key, expr]) => [key, compile(expr, `${p}.metadata.${key}`, issues, ANY)] as const);
    if (issues.length > 0) throw new GatewayError(ErrorCodes.CONFIG_INVALID, s.formatIssues(issues));
    const include = (config.includeRequestHeaders ?? ['authorization']).map((h) => h.toLowerCase());
    const copyBack = (http.includeResponseHeaders ?? []).map((h) => h.toLowerCase());
    const agent = new Agent({ connectTimeout: Math.min(build.upstream.connectTimeoutMs, TIMEOUT_MS), keepAliveTimeout: build.upstream.keepAliveTimeoutMs });
    const origin = `http://${config.host}`;

    const denied = (ctx: RequestContext, why: string) => {
      ctx.log.warn({ route: ctx.routeName, authorizer: config.host, err: why }, 'external authorizer failed');
      throw new GatewayError(ErrorCodes.EXT_AUTHZ_FAILED, `the external authorizer ${config.host} could not decide: ${why}`);
    };
    const stringOf = (program: CelProgram, activation: Record<string, unknown>): string => {
      const value = program.evaluate(activation);
      if (typeof value !== 'string') throw new Error(`expected a string, got ${typeof value}`);
      return value;
    };

    return {
      async step(ctx, next) {
        const activation = httpActivation(ctx);
        const headers: Record<string, string> = {};
        for (const name of include) {
          const value = name === ':authority' ? ctx.clientHeaders.host : name === ':path' ? ctx.path + ctx.search : ctx.clientHeaders[name];
          if (value !== undefined) headers[name === ':authority' ? 'host' : name] = Array.isArray(value) ? value.join(', ') : value;
        }
        let target: string;
        try {
          for (const [name, program] of addHeaders) headers[name === ':authority' ? 'host' : name] = stringOf(program!, activation);
          target = path ? stringOf(path, activation) : ctx.path + ctx.search;
        } catch (err) {
          return denied(ctx, `an expression failed: ${(err as Error).message}`);
        }
        if (!target.startsWith('/')) return denied(ctx, `the path ${JSON.stringify(target)} does not start with "/"`);
        let res;
        try {
          res = await request(`${origin}${target}`, { method: ctx.method as 'GET', headers, dispatcher: agent, headersTimeout: TIMEOUT_MS, bodyTimeout: TIMEOUT_MS, signal: AbortSignal.timeout(TIMEOUT_MS) });
        } catch (err) {
          if (config.failureMode === 'allow') {
            ctx.log.warn({ route: ctx.routeName, authorizer: config.host, err: (err as Error).message }, 'external authorizer unreachable: allowed (failureMode: allow)');
            return next();
          }
          return denied(ctx, (err as Error).message);
        }
        const status = res.statusCode;
        if (status >= 200 && status < 300) {
          const body = metadata.length > 0 ? await res.body.text() : (await res.body.dump(), '');
          for (const name of copyBack) {
            const value = res.headers[name];
            if (value !== undefined) ctx.requestHeaders[name] = value;
          }
          if (metadata.length > 0) {
            const response = { status: BigInt(status), headers: flatten(res.headers), body };
            const values: Record<string, unknown> = {};
            for (const [key, program] of metadata) {
              try {
                values[key] = program!.evaluate({ ...activation, response: toCelValue(response) as Record<string, unknown> });
              } catch (err) {
                ctx.log.debug({ route: ctx.routeName, key, err: (err as Error).message }, 'extAuthz metadata expression failed');
              }
            }
            ctx.vars.set(EXT_AUTHZ_METADATA, values);
            ctx.vars.set(LOG_VARIABLES, { ...ctx.vars.get(LOG_VARIABLES), extauthz: values });
          }
          return next();
        }
        if ((status === 401 || status === 403) && redirect) {
          await res.body.dump();
          let location: string;
          try {
            location = stringOf(redirect, activation);
          } catch (err) {
            return denied(ctx, `the redirect expression failed: ${(err as Error).message}`);
          }
          ctx.respond({ status: 302, headers: { location, 'content-length': '0' }, body: '' });
          return;
        }
        // Any other answer is the authorizer's to give: passed to the client as it came.
        const bodyBytes = Buffer.from(await res.body.arrayBuffer());
        const out: Record<string, string | string[]> = {};
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
        out['content-length'] = String(bodyBytes.length);
        ctx.respond({ status, headers: out, body: bodyBytes });
      },
      close: () => agent.close(),
    };
  },
};

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer', 'content-length']);

function flatten(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}
