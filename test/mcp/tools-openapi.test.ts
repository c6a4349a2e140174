import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { simpleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { connectClient, MCP_TEST_EXTRA, mcpRoute, startEverything, text, type RunningServer } from '../helpers/mcp.ts';
import { startPetstore, type Petstore } from '../fixtures/openapi/petstore-server.ts';

const SPEC = fileURLToPath(new URL('../fixtures/openapi/petstore.yaml', import.meta.url));
const P = 'binds[0].listeners[0].routes[0].backends[0].mcp';

describe('tool overrides on an OpenAPI target (the Petstore, a real REST service) beside a legacy SSE target', () => {
  let store: Petstore;
  let sse: RunningServer;
  let gw: TestGateway;
  let client: Client;

  before(async () => {
    store = await startPetstore();
    sse = await startEverything('sse');
    const petstore = {
      name: 'pets',
      openapi: { schema: { file: SPEC }, host: store.host },
      tools: {
        include: ['*Pet*', 'getInventory'],
        exclude: ['deletePet'],
        overrides: {
          findPetsByStatus: { name: 'sold_pets', description: 'Pets sold', fixedArguments: { status: 'sold' } },
          getPetById: { defaultArguments: { petId: 1 }, annotations: { title: 'A pet' } },
        },
      },
    };
    const everything = { name: 'ev', sse: { url: sse.url }, tools: { include: ['echo', 'get-sum'], overrides: { 'get-sum': { name: 'sum', fixedArguments: { a: 100 } } } } };
    gw = await startTestGateway(simpleConfig([mcpRoute([petstore, everything])], MCP_TEST_EXTRA));
    client = await connectClient(`${gw.url()}/mcp`);
  });
  after(async () => {
    await client?.close();
    await gw?.close();
    await store?.close();
    await sse?.close();
  });

  it('lists both targets’ tools as the settings say, with the route prefix over the new names', async () => {
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), [
      'ev_echo', 'ev_sum',
      'pets_addPet', 'pets_findPetsByTags', 'pets_getInventory', 'pets_getPetById', 'pets_sold_pets', 'pets_updatePet', 'pets_updatePetWithForm',
    ]);
    const sold = tools.find((t) => t.name === 'pets_sold_pets')!;
    assert.equal(sold.description, 'Pets sold');
    assert.equal((sold.inputSchema.properties as any).status, undefined);
    const byId = tools.find((t) => t.name === 'pets_getPetById')!;
    assert.equal((byId.inputSchema.properties as any).petId.default, 1);
    assert.deepEqual(byId.inputSchema.required, []);
    assert.equal(byId.annotations?.title, 'A pet');
    assert.equal(byId.annotations?.readOnlyHint, true);
    assert.deepEqual(Object.keys(tools.find((t) => t.name === 'ev_sum')!.inputSchema.properties ?? {}), ['b']);
  });

  it('injects fixed arguments into the REST call and fills defaults; the SSE target gets its fixed argument too', async () => {
    await client.callTool({ name: 'pets_sold_pets', arguments: { status: 'available' } });
    assert.equal(store.seen.at(-1)!.url, '/v3/pet/findByStatus?status=sold');
    const rex = await client.callTool({ name: 'pets_getPetById', arguments: {} });
    assert.equal((rex.structuredContent as any).name, 'Rex');
    assert.equal(store.seen.at(-1)!.url, '/v3/pet/1');
    assert.equal(text(await client.callTool({ name: 'ev_sum', arguments: { b: 1 } })), 'The sum of 100 and 1 is 101.');
  });

  it('refuses excluded, filtered-out and renamed-away tools as unknown', async () => {
    for (const name of ['pets_deletePet', 'pets_findPetsByStatus', 'pets_getOrderById', 'ev_get-sum', 'ev_get-env']) {
      await assert.rejects(client.callTool({ name, arguments: {} }), (err: any) => err.code === -32602 && err.message.includes(`Unknown tool: ${name}`), name);
    }
  });
});

describe('tool settings of an OpenAPI target are checked against its tools at load', () => {
  it('fails the load with every problem and its config path', async () => {
    const config = simpleConfig(
      [
        mcpRoute([
          {
            name: 'pets',
            openapi: { schema: { file: SPEC }, url: 'http://127.0.0.1:9' },
            tools: {
              overrides: {
                findPetsByStatus: { fixedArguments: { colour: 'red' } },
                getPetById: { name: 'addPet' },
                nothing: { description: 'x' },
              },
            },
          },
        ]),
      ],
      MCP_TEST_EXTRA,
    );
    await assert.rejects(startTestGateway(config), (err: any) => {
      assert.equal(err.code, 'PCL_ERR_CONFIG_INVALID');
      const lines = String(err.message).split('\n').map((l) => l.trim());
      assert.ok(lines.includes(`${P}.targets[0].tools.overrides.findPetsByStatus.fixedArguments.colour: tool "findPetsByStatus" of target "pets" has no argument "colour" (its arguments: status): the tool is left out`), err.message);
      assert.ok(lines.some((l) => l.startsWith(`${P}.targets[0].tools.overrides.nothing: target "pets" lists no tool "nothing" (it lists "updatePet", "addPet",`)), err.message);
      assert.ok(lines.includes(`${P}.targets[0].tools.overrides.getPetById.name: tools "addPet" and "getPetById" of target "pets" would both be shown as "addPet": both are left out (give them different names)`), err.message);
      return true;
    });
  });

  it('fails the load when include/exclude leave none of its tools', async () => {
    const config = simpleConfig([mcpRoute([{ name: 'pets', openapi: { schema: { file: SPEC }, url: 'http://127.0.0.1:9' }, tools: { include: ['zzz*'] } }])], MCP_TEST_EXTRA);
    await assert.rejects(startTestGateway(config), (err: any) => {
      assert.equal(err.code, 'PCL_ERR_CONFIG_INVALID');
      assert.match(err.message, /binds\[0\]\.listeners\[0\]\.routes\[0\]\.backends\[0\]\.mcp\.targets\[0\]\.tools: include\/exclude leave none of the 19 tools of target "pets" \(it lists "updatePet", "addPet"/);
      return true;
    });
  });
});
