import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { echoUpstream, simpleConfig, startTestGateway, type TestGateway, type Upstream } from '../helpers/gateway.ts';
import { connectClient, MCP_TEST_EXTRA, mcpRoute, text } from '../helpers/mcp.ts';

/** One operation the caller may use, beside an upstream path it must never reach through it. */
const spec = (port: number) =>
  JSON.stringify({
    openapi: '3.0.3',
    info: { title: 'pets', version: '1' },
    servers: [{ url: `http://127.0.0.1:${port}/v3` }],
    paths: {
      '/pets/{petId}': {
        get: {
          operationId: 'getPet',
          parameters: [
            { name: 'petId', in: 'path', required: true, schema: { type: 'string' } },
            { name: 'prefs', in: 'cookie', explode: true, schema: { type: 'object', additionalProperties: { type: 'string' } } },
          ],
          responses: { '200': { description: 'a pet' } },
        },
      },
      '/labels/{tag}': { get: { operationId: 'getLabel', parameters: [{ name: 'tag', in: 'path', required: true, style: 'label', schema: { type: 'string' } }], responses: { '200': { description: 'x' } } } },
    },
  });

describe('OpenAPI arguments cannot leave their operation (issue 25, finding 4)', () => {
  let upstream: Upstream;
  let gw: TestGateway;
  let client: Client;

  before(async () => {
    upstream = await echoUpstream('pets');
    const route = mcpRoute([{ name: 'pets', openapi: { schema: { inline: spec(upstream.port) } } }]);
    gw = await startTestGateway(simpleConfig([route], MCP_TEST_EXTRA));
    client = await connectClient(`${gw.url()}/mcp`);
  });
  after(async () => {
    await client?.close();
    await gw?.close();
    await upstream?.close();
  });

  const call = async (name: string, args: Record<string, unknown>) => (await client.callTool({ name, arguments: args })) as { isError?: boolean; content: unknown[] };

  it('refuses a path parameter that makes a "." or ".." segment, label style too, without calling the upstream', async () => {
    const before = upstream.seen.length;
    for (const petId of ['..', '.']) {
      const r = await call('getPet', { petId });
      assert.equal(r.isError, true, `${petId}: ${text(r)}`);
      assert.equal(text(r), 'invalid arguments for getPet: a path parameter makes a "." or ".." path segment');
    }
    // Label style prefixes a "." of its own: "." becomes "..".
    assert.equal(text(await call('getLabel', { tag: '.' })), 'invalid arguments for getLabel: a path parameter makes a "." or ".." path segment');
    assert.equal(upstream.seen.length, before, 'the upstream saw none of them');
    // A value with dots that is not a dot segment is an ordinary value; an escaped dot is sent escaped, as data.
    for (const [petId, url] of [['..x', '/v3/pets/..x'], ['%2e%2e', '/v3/pets/%252e%252e']]) {
      const ok = await call('getPet', { petId });
      assert.equal(ok.isError, undefined, text(ok));
      assert.equal(upstream.seen.at(-1)!.url, url);
    }
  });

  it('refuses an exploded cookie object whose key would inject cookies; plain keys still go through', async () => {
    const before = upstream.seen.length;
    const r = await call('getPet', { petId: '1', prefs: { 'theme=dark; admin': 'true' } });
    assert.equal(text(r), 'invalid arguments for getPet: cookie parameter "prefs" has a key "theme=dark; admin" that is not a cookie name');
    assert.equal(upstream.seen.length, before);
    const ok = await call('getPet', { petId: '1', prefs: { theme: 'dark; admin=true' } });
    assert.equal(ok.isError, undefined, text(ok));
    assert.equal(upstream.seen.at(-1)!.headers.cookie, 'theme=dark%3B%20admin%3Dtrue');
  });
});
