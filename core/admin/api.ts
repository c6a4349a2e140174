import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCodes, GatewayError } from '../errors.ts';
import { a2aCard, a2aSend, a2aStream, type A2aSendOptions, type A2aVersion } from './a2a-playground.ts';
import { parseCredential, routeTarget } from './dataplane.ts';
import { json, openSse, readJson, stringField } from './http.ts';
import type { AdminContext } from './index.ts';
import { mcpCall, mcpList } from './mcp-playground.ts';
import type { Topic, TrafficLine } from './observer.ts';
import { buildPicture, configView } from './picture.ts';
import { evaluatePolicy, listPolicies, runPolicyTest } from './policies.ts';
import { promSummary } from './prom.ts';

/** Filters of the Traffic page: each optional, all must hold. */
export interface TrafficFilter {
  route?: string;
  identity?: string;
  /** An exact status (`403`) or a class (`4xx`). */
  status?: string;
  /** MCP/A2A method of a message the request carried. */
  method?: string;
  tool?: string;
}

const BACKLOG = 200;

export function trafficFilter(params: URLSearchParams): TrafficFilter {
  const f: TrafficFilter = {};
  for (const k of ['route', 'identity', 'status', 'method', 'tool'] as const) {
    const v = params.get(k);
    if (v) f[k] = v;
  }
  if (f.status !== undefined && !/^([1-5]xx|\d{1,3})$/i.test(f.status)) {
    throw new GatewayError(ErrorCodes.BAD_REQUEST, `status: expected a status (403) or a class (4xx), got ${JSON.stringify(f.status)}`);
  }
  return f;
}

export function matches(line: TrafficLine, f: TrafficFilter): boolean {
  if (f.route !== undefined && line.route !== f.route) return false;
  if (f.identity !== undefined && line.identity !== f.identity) return false;
  if (f.status !== undefined) {
    const s = f.status.toLowerCase();
    if (s.endsWith('xx') ? Math.floor(line.status / 100) !== Number(s[0]) : line.status !== Number(s)) return false;
  }
  if (f.method !== undefined && !line.messages.some((m) => m.method === f.method)) return false;
  if (f.tool !== undefined && !line.messages.some((m) => m.tool === f.tool)) return false;
  return true;
}

/** `version`: the A2A protocol version to speak, `0.3` (default) or `1.0`. */
function a2aVersion(body: Record<string, unknown>): A2aVersion {
  const v = body.version ?? '0.3';
  if (v !== '0.3' && v !== '1.0') throw new GatewayError(ErrorCodes.BAD_REQUEST, `version: expected "0.3" or "1.0", got ${JSON.stringify(v)}`);
  return v;
}

/** `binding` (`jsonrpc`, default, or `rest`), `skill` (sent as the message's `metadata.skill`), `contextId`. */
function a2aOptions(body: Record<string, unknown>): A2aSendOptions {
  const binding = body.binding ?? 'jsonrpc';
  if (binding !== 'jsonrpc' && binding !== 'rest') throw new GatewayError(ErrorCodes.BAD_REQUEST, `binding: expected "jsonrpc" or "rest", got ${JSON.stringify(binding)}`);
  const skill = stringField(body, 'skill', true);
  const contextId = stringField(body, 'contextId', true);
  return { binding, ...(skill ? { skill } : {}), ...(contextId ? { contextId } : {}) };
}

type Handler = (ctx: AdminContext, req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> | void;

const GETS: Record<string, Handler> = {
  '/api/session': (ctx, _req, res) =>
    json(res, 200, { tokenRequired: ctx.guard.tokenRequired, csrf: ctx.guard.csrf, ready: ctx.source.isReady() }),
  '/api/config': (ctx, _req, res) => json(res, 200, configView(ctx.config())),
  '/api/picture': (ctx, _req, res) => json(res, 200, { binds: buildPicture(ctx.config(), ctx.ports(), ctx.observer.health) }),
  '/api/traffic': (ctx, _req, res, url) => {
    const f = trafficFilter(url.searchParams);
    json(res, 200, { lines: ctx.observer.traffic.all().filter((l) => matches(l, f)).slice(-BACKLOG) });
  },
  '/api/traffic/stream': (ctx, req, res, url) => stream(ctx, req, res, 'access', url),
  '/api/decisions': (ctx, _req, res, url) => {
    const requestId = url.searchParams.get('requestId');
    const traceId = url.searchParams.get('traceId');
    const all = ctx.observer.decisions.all().filter((d) => (!requestId || d.requestId === requestId) && (!traceId || d.traceId === traceId));
    json(res, 200, { decisions: all.slice(-BACKLOG) });
  },
  '/api/decisions/stream': (ctx, req, res, url) => stream(ctx, req, res, 'decision', url),
  '/api/reloads': (ctx, _req, res) => json(res, 200, { reloads: ctx.observer.reloads.all() }),
  '/api/reloads/stream': (ctx, req, res, url) => stream(ctx, req, res, 'reload', url),
  '/api/metrics': async (ctx, _req, res) => json(res, 200, { window: ctx.observer.metrics.snapshot(), prometheus: await promSummary(ctx.prometheus) }),
  '/api/policies': async (ctx, _req, res) => json(res, 200, { policies: await listPolicies(ctx.config()) }),
  // Which users linked which upstream accounts (backendAuth.oauth): names and times, never a token.
  '/api/credential-links': async (ctx, _req, res) => json(res, 200, { links: (await ctx.source.credentialLinks?.()?.list()) ?? [] }),
};

const POSTS: Record<string, (ctx: AdminContext, body: Record<string, unknown>, req: IncomingMessage, res: ServerResponse) => Promise<void>> = {
  async '/api/credential-links/revoke'(ctx, body, _req, res) {
    const link = stringField(body, 'link')!;
    const subject = stringField(body, 'subject')!;
    if (!(await ctx.source.credentialLinks?.()?.revoke(link, subject))) return json(res, 404, { error: { code: ErrorCodes.NO_ROUTE, message: `no "${link}" link for user "${subject}"` } });
    ctx.logger.info({ link, subject }, 'admin revoked an upstream credential link');
    json(res, 200, { revoked: { link, subject } });
  },
  async '/api/policies/eval'(ctx, body, _req, res) {
    const route = stringField(body, 'route')!;
    if (!body.input || typeof body.input !== 'object') throw new GatewayError(ErrorCodes.BAD_REQUEST, 'input: expected a JSON object (an AuthorizationInput)');
    json(res, 200, await evaluatePolicy(ctx.config(), route, body.input));
  },
  async '/api/policies/test'(ctx, body, _req, res) {
    const route = stringField(body, 'route', true);
    if (!ctx.source.configFile) throw new GatewayError(ErrorCodes.BAD_REQUEST, 'this gateway was not started from a config file');
    json(res, 200, await runPolicyTest(ctx.source.configFile, route));
  },
  async '/api/mcp/list'(ctx, body, _req, res) {
    const target = routeTarget(ctx.config(), ctx.ports(), stringField(body, 'route')!, stringField(body, 'path', true));
    json(res, 200, await mcpList(target, parseCredential(body.credential), ctx.observer));
  },
  async '/api/mcp/call'(ctx, body, _req, res) {
    const target = routeTarget(ctx.config(), ctx.ports(), stringField(body, 'route')!, stringField(body, 'path', true));
    const args = body.arguments ?? {};
    if (typeof args !== 'object' || Array.isArray(args)) throw new GatewayError(ErrorCodes.BAD_REQUEST, 'arguments: expected a JSON object');
    json(res, 200, await mcpCall(target, parseCredential(body.credential), stringField(body, 'tool')!, args as Record<string, unknown>, ctx.observer));
  },
  async '/api/a2a/card'(ctx, body, _req, res) {
    const target = routeTarget(ctx.config(), ctx.ports(), stringField(body, 'route')!, stringField(body, 'path', true));
    json(res, 200, await a2aCard(target, parseCredential(body.credential), ctx.observer, a2aVersion(body)));
  },
  async '/api/a2a/send'(ctx, body, _req, res) {
    const target = routeTarget(ctx.config(), ctx.ports(), stringField(body, 'route')!, stringField(body, 'path', true));
    const credential = parseCredential(body.credential);
    json(res, 200, await a2aSend(target, credential, a2aVersion(body), stringField(body, 'text')!, ctx.observer, a2aOptions(body)));
  },
  async '/api/a2a/stream'(ctx, body, req, res) {
    const target = routeTarget(ctx.config(), ctx.ports(), stringField(body, 'route')!, stringField(body, 'path', true));
    const credential = parseCredential(body.credential);
    const version = a2aVersion(body);
    const text = stringField(body, 'text')!;
    const options = a2aOptions(body);
    const controller = new AbortController();
    const send = openSse(req, res, () => controller.abort());
    try {
      const requestId = await a2aStream(target, credential, version, text, send, controller.signal, options);
      await ctx.observer.settle();
      send('decisions', ctx.observer.decisionsOf(requestId));
    } catch (err) {
      send('error', { message: (err as Error).message });
    }
    res.end();
  },
};

/** Backlog of the topic (filtered), then each new line as it comes, until the client leaves. */
function stream(ctx: AdminContext, req: IncomingMessage, res: ServerResponse, topic: Topic, url: URL): void {
  const f = topic === 'access' ? trafficFilter(url.searchParams) : {};
  let unlisten = () => {};
  const send = openSse(req, res, () => unlisten());
  const backlog = topic === 'access' ? ctx.observer.traffic.all().filter((l) => matches(l, f)) : topic === 'reload' ? ctx.observer.reloads.all() : ctx.observer.decisions.all();
  for (const item of backlog.slice(-BACKLOG)) send(topic, item);
  unlisten = ctx.observer.listen((t, data) => {
    if (t !== topic) return;
    if (topic === 'access' && !matches(data as TrafficLine, f)) return;
    send(topic, data);
  });
}

export async function handleApi(ctx: AdminContext, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const path = url.pathname;
  if (req.method === 'GET') {
    const handler = GETS[path];
    if (handler) return handler(ctx, req, res, url);
    const line = /^\/api\/traffic\/([^/]+)$/.exec(path);
    if (line) {
      const found = ctx.observer.line(decodeURIComponent(line[1]));
      if (!found) return json(res, 404, { error: { code: ErrorCodes.NO_ROUTE, message: `no recent request ${line[1]}` } });
      return json(res, 200, found);
    }
  } else if (req.method === 'POST') {
    const handler = POSTS[path];
    if (handler) {
      ctx.guard.checkCsrf(req);
      return handler(ctx, await readJson(req), req, res);
    }
  }
  if (GETS[path] || POSTS[path]) {
    return json(res, 405, { error: { code: ErrorCodes.BAD_REQUEST, message: `${path} answers ${GETS[path] ? 'GET' : 'POST'} only` } });
  }
  json(res, 404, { error: { code: ErrorCodes.NO_ROUTE, message: `no admin endpoint ${path}` } });
}
