import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { request } from 'undici';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { startAgent, type RunningAgent } from '../fixtures/a2a/agent.ts';
import { adminConfig } from '../admin/setup.ts';
import { KNOWN_METHODS } from '../../core/backends/a2a/methods.ts';

/**
 * Property-based fuzzing of the A2A JSON-RPC and REST bindings and of the admin API, on a real gateway and a real
 * agent (@a2a-js/sdk). Whatever arrives, the gateway answers with a well-formed answer of its own or the agent's,
 * never its own 500, never an error log. (Push URLs in every spelling are pinned in a2a-push-ssrf.test.ts.)
 */
const RUNS = 150;
const methods = [...KNOWN_METHODS];
const json = fc.jsonValue({ maxDepth: 6 });
const pushy = fc.record({
  url: fc.oneof(fc.webUrl(), fc.constant('http://169.254.169.254/'), fc.jsonValue({ maxDepth: 2 })),
  token: fc.option(fc.string()),
});
const pushKey = fc.constantFrom('pushNotificationConfig', 'push_notification_config', 'taskPushNotificationConfig', 'task_push_notification_config', 'TaskPushNotificationConfig');
const params = fc.oneof(
  json,
  fc.record({ message: json, configuration: fc.dictionary(pushKey, pushy, { maxKeys: 2 }) }, { requiredKeys: [] }),
  fc.record({ taskId: fc.string(), id: fc.string(), url: fc.oneof(fc.webUrl(), json) }, { requiredKeys: [] }),
);
const rpcBody = fc.oneof(
  fc.string().map((s) => s),
  json.map((v) => JSON.stringify(v)),
  fc.record({ jsonrpc: fc.oneof(fc.constant('2.0'), json), id: fc.oneof(fc.integer(), fc.string(), json), method: fc.oneof(fc.constantFrom(...methods), fc.string()), params }, { requiredKeys: ['jsonrpc', 'method'] }).map((v) => JSON.stringify(v)),
);

describe('property-based fuzzing: A2A JSON-RPC and REST bindings, admin API (issue 25)', () => {
  let agent: RunningAgent;
  let gw: TestGateway;
  let admin: string;
  let csrf: string;

  before(async () => {
    agent = await startAgent({ name: 'fuzz' });
    gw = await startTestGateway(adminConfig({ extraRoutes: [{ name: 'agent', matches: [{ path: { pathPrefix: '/agent' } }], backends: [{ a2a: { url: agent.url, pushNotifications: { allowedUrls: ['https://hooks.example.com/a2a/'] } } }] }] }));
    admin = `http://127.0.0.1:${gw.running.admin!.port}`;
    csrf = ((await (await request(`${admin}/api/session`)).body.json()) as { csrf: string }).csrf;
  });
  after(async () => {
    await gw?.close();
    await agent?.close();
  });

  const noGatewayErrors = () => assert.equal(gw.logs.find((l) => l.level === 'error' || l.level === 'fatal')?.msg, undefined);

  it('JSON-RPC binding: every body gets a JSON-RPC answer with a readable id, never a gateway 500', async () => {
    await fc.assert(
      fc.asyncProperty(rpcBody, async (body) => {
        const res = await request(`${gw.url()}/agent/a2a/jsonrpc`, { method: 'POST', body, headers: { 'content-type': 'application/json', 'a2a-version': '1.0' } });
        const text = await res.body.text();
        assert.ok(res.statusCode < 500, `${res.statusCode} ${text}`);
        if (res.headers['content-type']?.includes('text/event-stream')) return;
        const answer = JSON.parse(text);
        assert.equal(answer.jsonrpc, '2.0', text);
        assert.ok('result' in answer || (Number.isInteger(answer.error?.code) && typeof answer.error?.message === 'string'), text);
        assert.ok(answer.id === null || typeof answer.id === 'string' || typeof answer.id === 'number', text);
      }),
      { numRuns: RUNS },
    );
    noGatewayErrors();
  });

  it('REST binding: any path, method and body is answered without a gateway 500', async () => {
    const segment = fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('tasks', 'message:send', 'message:stream', 'pushNotificationConfigs', '%', '%zz', '%E0%A4', '..', 'v1', 'card'));
    await fc.assert(
      fc.asyncProperty(fc.array(segment, { minLength: 1, maxLength: 5 }), fc.constantFrom('GET', 'POST', 'DELETE'), fc.option(json), async (segments, method, body) => {
        const path = `/agent/a2a/rest/${segments.map((s) => s.replace(/[?#/\s]/g, '_')).join('/')}`;
        const res = await request(`${gw.url()}${encodeURI(path).replace(/%25/g, '%')}`, {
          method,
          body: method === 'POST' && body !== null ? JSON.stringify(body) : undefined,
          headers: { 'content-type': 'application/json', 'a2a-version': '1.0' },
        }).catch((err: Error & { code?: string }) => {
          // Only the client's own refusal of a URL it cannot send is skipped; a reset or hang-up from the gateway fails.
          if (err.code === 'UND_ERR_INVALID_ARG' || err instanceof TypeError) return undefined;
          throw err;
        });
        if (!res) return;
        const text = await res.body.text();
        // 5xx the gateway may answer on purpose (an agent that is down, a timeout) carry their own codes; never a 500.
        assert.notEqual(res.statusCode, 500, `${method} ${path}: ${text}`);
        if (res.statusCode > 500) assert.doesNotMatch(text, /PCL_ERR_INTERNAL/, `${method} ${path}: ${text}`);
      }),
      { numRuns: RUNS },
    );
    noGatewayErrors();
  });

  it('admin API: any body on the playground and policy endpoints, any query on the lists, is a 4xx or a 200 with JSON', async () => {
    const route = fc.oneof(fc.string(), fc.constantFrom('welcome', 'agent', 'nope'));
    const body = fc.oneof(json, fc.record({ route, path: fc.oneof(fc.string(), fc.constant('/')), credential: json, tool: json, arguments: json, input: json, text: json, version: json }, { requiredKeys: [] }));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('/api/mcp/list', '/api/mcp/call', '/api/policies/eval', '/api/a2a/card', '/api/a2a/send'), body, async (path, b) => {
        const res = await request(`${admin}${path}`, { method: 'POST', body: JSON.stringify(b), headers: { 'content-type': 'application/json', 'x-portcullis-csrf': csrf } });
        const text = await res.body.text();
        assert.ok(res.statusCode < 500, `${path} ${JSON.stringify(b)}: ${res.statusCode} ${text}`);
        JSON.parse(text);
      }),
      { numRuns: RUNS },
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('/api/traffic', '/api/decisions', '/api/reloads', '/api/config', '/api/nope'), fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 12 }), { maxKeys: 3 }), async (path, query) => {
        const res = await request(`${admin}${path}?${new URLSearchParams(query)}`);
        const text = await res.body.text();
        assert.ok(res.statusCode < 500, `${path}: ${res.statusCode} ${text}`);
        JSON.parse(text);
      }),
      { numRuns: RUNS },
    );
    noGatewayErrors();
  });
});
