import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { simpleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { connectClient, MCP_TEST_EXTRA, mcpRoute, waitUntil } from '../helpers/mcp.ts';
import { startPetstore, type Petstore } from '../fixtures/openapi/petstore-server.ts';

const op = (id: string, path: string) =>
  `  ${path}:\n    get:\n      operationId: ${id}\n      parameters: [{ name: petId, in: path, required: true, schema: { type: integer } }]\n      responses: { '200': { description: ok, content: { application/json: { schema: { type: object } } } } }\n`;
const spec = (ops: string) => `openapi: 3.0.3\ninfo: { title: pets, version: '1' }\nservers: [{ url: /v3 }]\npaths:\n${ops}`;

describe('OpenAPI target: the spec file is watched; an edit reloads the tools of open sessions', () => {
  let store: Petstore;
  let gw: TestGateway;
  let client: Client;

  before(async () => {
    store = await startPetstore();
    gw = await startTestGateway(simpleConfig([mcpRoute([{ name: 'pets', openapi: { schema: { file: './pets.yaml' }, host: store.host } }])], MCP_TEST_EXTRA), {
      watch: true,
      files: { 'pets.yaml': spec(op('getPet', '/pet/{petId}')) },
    });
  });
  after(async () => {
    await client?.close();
    await gw?.close();
    await store?.close();
  });

  it('a new operation appears in the open session with tools/list_changed; a broken edit keeps the old tools', async () => {
    client = await connectClient(`${gw.url()}/mcp`);
    let changed = 0;
    client.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
      changed++;
    });
    assert.deepEqual((await client.listTools()).tools.map((t) => t.name), ['getPet']);
    assert.ok(gw.running.gateway.files.includes(join(gw.dir, 'pets.yaml')));

    await writeFile(join(gw.dir, 'pets.yaml'), spec(op('getPet', '/pet/{petId}') + op('getPetAgain', '/pet/{petId}/again')));
    await waitUntil(() => changed > 0, 15_000, 'tools/list_changed');
    assert.deepEqual((await client.listTools()).tools.map((t) => t.name), ['getPet', 'getPetAgain']);
    const r = (await client.callTool({ name: 'getPet', arguments: { petId: 1 } })) as any;
    assert.equal(r.structuredContent.name, 'Rex');

    await writeFile(join(gw.dir, 'pets.yaml'), spec(`  /pet/{petId}:\n    get:\n      responses: { '200': { $ref: '#/components/responses/Gone' } }\n`));
    await gw.logs.waitFor((l) => l.msg === 'reload failed: still serving the previous config' && /PCL_ERR_OPENAPI_SPEC_INVALID/.test(String(l.code)));
    assert.deepEqual((await client.listTools()).tools.map((t) => t.name), ['getPet', 'getPetAgain']);
    const again = (await client.callTool({ name: 'getPetAgain', arguments: { petId: 2 } })) as any;
    assert.match(String(again.content[0].text), /HTTP 404/);
  });
});
