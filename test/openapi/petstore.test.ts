import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { simpleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { connectClient, fixtureStdio, MCP_TEST_EXTRA, mcpRoute, text } from '../helpers/mcp.ts';
import { startPetstore, type Petstore } from '../fixtures/openapi/petstore-server.ts';

const SPEC = fileURLToPath(new URL('../fixtures/openapi/petstore.yaml', import.meta.url));

const ALL_OPERATIONS = [
  'addPet', 'updatePet', 'findPetsByStatus', 'findPetsByTags', 'getPetById', 'updatePetWithForm', 'deletePet', 'uploadFile',
  'getInventory', 'placeOrder', 'getOrderById', 'deleteOrder', 'createUser', 'createUsersWithListInput', 'loginUser', 'logoutUser',
  'getUserByName', 'updateUser', 'deleteUser',
];

describe('OpenAPI target: the Swagger Petstore 3 served as MCP tools, called on a real REST service', () => {
  let store: Petstore;
  let gw: TestGateway;
  const clients: Client[] = [];

  before(async () => {
    store = await startPetstore();
    const petstore = (extra: Record<string, unknown> = {}) => ({ name: 'petstore', openapi: { schema: { file: SPEC }, host: store.host, ...extra } });
    const route = (name: string, targets: unknown[], policies: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
      ...mcpRoute(targets, extra, name),
      matches: [{ path: { pathPrefix: `/${name}` } }],
      policies,
    });
    gw = await startTestGateway(
      simpleConfig(
        [
          route('pets', [petstore()]),
          route(
            'mixed',
            [
              petstore({
                include: [{ tags: ['pet'] }, { operationIds: ['getInventory'] }],
                exclude: [{ methods: ['DELETE'] }, { paths: ['/pet/*/uploadImage'] }],
                overrides: { getPetById: { name: 'get_pet', description: 'Look a pet up' }, 'GET /pet/findByTags': { description: 'Pets by tag' } },
              }),
              fixtureStdio('fixture', 'untagged', { warmPool: 0 }),
            ],
            {
              toolArgumentRules: { rules: [{ tool: 'petstore_findPetsByStatus', deny: ['pending'] }] },
              backendAuth: { header: 'x-user-token', passthrough: true },
            },
          ),
        ],
        MCP_TEST_EXTRA,
      ),
    );
  });
  after(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await gw?.close();
    await store?.close();
  });

  const connect = async (path: string, headers?: Record<string, string>) => {
    let client: Client;
    if (headers) {
      client = new Client({ name: 'petstore-test', version: '1.0.0' });
      await client.connect(new StreamableHTTPClientTransport(new URL(`${gw.url()}${path}`), { requestInit: { headers } }));
    } else client = await connectClient(`${gw.url()}${path}`);
    clients.push(client);
    return client;
  };
  const call = async (client: Client, name: string, args: Record<string, unknown>) => (await client.callTool({ name, arguments: args })) as any;
  const last = () => store.seen.at(-1)!;

  it('lists one tool per operation, named by operationId, with schemas from parameters, bodies and responses', async () => {
    const client = await connect('/pets');
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), [...ALL_OPERATIONS].sort());
    const byName = new Map(tools.map((t) => [t.name, t as any]));
    const getPet = byName.get('getPetById');
    assert.equal(getPet.description, 'Find pet by ID\n\nReturns a single pet');
    assert.deepEqual(getPet.inputSchema.properties.petId, { type: 'integer', format: 'int64', description: 'ID of pet to return' });
    assert.deepEqual(getPet.inputSchema.required, ['petId']);
    assert.equal(getPet.outputSchema.allOf[0].$ref, '#/$defs/Pet');
    assert.equal(getPet.annotations.readOnlyHint, true);
    const byStatus = byName.get('findPetsByStatus');
    assert.deepEqual(byStatus.inputSchema.properties.status.enum, ['available', 'pending', 'sold']);
    assert.equal(byStatus.inputSchema.properties.status.default, 'available');
    assert.equal(byStatus.outputSchema.properties.result.type, 'array');
    const addPet = byName.get('addPet');
    assert.deepEqual(addPet.inputSchema.required, ['body']);
    assert.deepEqual(addPet.inputSchema.$defs.Pet.required, ['name', 'photoUrls']);
    assert.deepEqual(Object.keys(addPet.inputSchema.$defs).sort(), ['Category', 'Pet', 'Tag']);
    assert.equal(byName.get('deletePet').annotations.destructiveHint, true);
    assert.deepEqual(byName.get('uploadFile').inputSchema.properties.body, { type: 'string', contentEncoding: 'base64', description: '(base64-encoded bytes)' });
    assert.equal(byName.get('getInventory').outputSchema.additionalProperties.type, 'integer');
  });

  it('calls every operation of the spec on the REST service: path, query, header parameters and JSON, form, binary bodies', async () => {
    const client = await connect('/pets');
    let r = await call(client, 'getPetById', { petId: 1 });
    assert.equal(r.structuredContent.name, 'Rex');
    assert.deepEqual(JSON.parse(text(r)), r.structuredContent);
    assert.equal(last().url, '/v3/pet/1');
    assert.match(String(last().headers.accept), /^application\/json/);

    r = await call(client, 'addPet', { body: { name: 'Nemo', photoUrls: ['u1'], status: 'pending', category: { id: 3, name: 'Fish' } } });
    assert.equal(r.structuredContent.name, 'Nemo');
    const nemo = r.structuredContent.id;
    assert.equal(last().headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(last().body.toString()), { name: 'Nemo', photoUrls: ['u1'], status: 'pending', category: { id: 3, name: 'Fish' } });

    r = await call(client, 'updatePet', { body: { id: nemo, name: 'Nemo II', photoUrls: [], status: 'pending' } });
    assert.equal(r.structuredContent.name, 'Nemo II');
    assert.equal(last().method, 'PUT');

    r = await call(client, 'findPetsByStatus', { status: 'sold' });
    assert.deepEqual(r.structuredContent.result.map((p: any) => p.name), ['Tom']);
    assert.equal(last().url, '/v3/pet/findByStatus?status=sold');

    r = await call(client, 'findPetsByTags', { tags: ['good', 'lazy'] });
    assert.deepEqual(r.structuredContent.result.map((p: any) => p.name).sort(), ['Rex', 'Tom']);
    assert.equal(last().url, '/v3/pet/findByTags?tags=good&tags=lazy');

    r = await call(client, 'updatePetWithForm', { petId: 1, name: 'Rex the Great', status: 'pending' });
    assert.equal(last().url, '/v3/pet/1?name=Rex%20the%20Great&status=pending');
    assert.equal(r.structuredContent.name, 'Rex the Great');

    r = await call(client, 'uploadFile', { petId: 1, additionalMetadata: 'front', body: Buffer.from([1, 2, 3, 250]).toString('base64') });
    assert.equal(last().headers['content-type'], 'application/octet-stream');
    assert.deepEqual([...last().body], [1, 2, 3, 250]);
    assert.equal(r.structuredContent.message, 'additionalMetadata: front\nFile uploaded to ./upload, 4 bytes');

    r = await call(client, 'deletePet', { petId: 2, api_key: 'k-123' });
    assert.equal(last().headers.api_key, 'k-123');
    assert.equal(text(r), 'Pet deleted (api_key k-123)');
    assert.equal(r.structuredContent, undefined);

    r = await call(client, 'getInventory', {});
    assert.deepEqual(r.structuredContent, { pending: 2 });

    r = await call(client, 'placeOrder', { body: { petId: 1, quantity: 2, shipDate: '2026-01-02T03:04:05Z', complete: false } });
    const order = r.structuredContent.id;
    assert.equal(r.structuredContent.status, 'placed');
    r = await call(client, 'getOrderById', { orderId: order });
    assert.equal(r.structuredContent.quantity, 2);
    r = await call(client, 'deleteOrder', { orderId: order });
    assert.equal(text(r), 'HTTP 200, no content');
    assert.equal(r.isError, undefined);

    r = await call(client, 'createUser', { body: { username: 'grace', email: 'grace@example.com' } });
    assert.equal(r.structuredContent.username, 'grace');
    r = await call(client, 'createUsersWithListInput', { body: [{ username: 'linus' }, { username: 'ken' }] });
    assert.equal(r.structuredContent.username, 'linus');
    r = await call(client, 'getUserByName', { username: 'ken' });
    assert.equal(r.structuredContent.username, 'ken');
    r = await call(client, 'updateUser', { username: 'ken', body: { firstName: 'Ken' } });
    assert.equal(last().method, 'PUT');
    r = await call(client, 'deleteUser', { username: 'ken' });
    assert.equal(last().url, '/v3/user/ken');

    r = await call(client, 'loginUser', { username: 'grace', password: 'secret' });
    assert.deepEqual(r.structuredContent, { result: 'Logged in user session: grace' });
    assert.equal(last().url, '/v3/user/login?username=grace&password=secret');
    r = await call(client, 'logoutUser', {});
    assert.equal(text(r), 'User logged out');
  });

  it('a non-2xx answer is an error result with the status and an excerpt of the body', async () => {
    const client = await connect('/pets');
    let r = await call(client, 'getPetById', { petId: 999 });
    assert.equal(r.isError, true);
    assert.equal(text(r), 'HTTP 404: Pet not found');
    r = await call(client, 'updatePet', { body: { id: 999, name: 'Ghost', photoUrls: [] } });
    assert.equal(text(r), 'HTTP 404: {"code":404,"message":"Pet not found"}');
  });

  it('invalid arguments are an error result naming the field, and nothing reaches the REST service', async () => {
    const client = await connect('/pets');
    const before = store.seen.length;
    let r = await call(client, 'getPetById', { petId: 'one' });
    assert.equal(r.isError, true);
    assert.equal(text(r), 'invalid arguments: petId: must be integer');
    r = await call(client, 'getPetById', {});
    assert.equal(text(r), 'invalid arguments: petId: is required');
    r = await call(client, 'addPet', { body: { name: 'NoPhotos' } });
    assert.equal(text(r), 'invalid arguments: body.photoUrls: is required');
    r = await call(client, 'findPetsByStatus', { status: 'lost' });
    assert.equal(text(r), 'invalid arguments: status: must be equal to one of the allowed values ("available", "pending", "sold")');
    r = await call(client, 'placeOrder', { body: { petId: 1, shipDate: 'yesterday' } });
    assert.equal(text(r), 'invalid arguments: body.shipDate: must match format "date-time"');
    assert.equal(store.seen.length, before);
  });

  it('mixes with other targets: prefixed names, include/exclude and overrides, policies, a credential per caller', async () => {
    const alice = await connect('/mixed', { 'x-user-token': 'alice-token' });
    const bob = await connect('/mixed', { 'x-user-token': 'bob-token' });
    const names = (await alice.listTools()).tools.map((t) => t.name);
    const petstore = names.filter((n) => n.startsWith('petstore_')).sort();
    assert.deepEqual(petstore, ['petstore_addPet', 'petstore_findPetsByStatus', 'petstore_findPetsByTags', 'petstore_getInventory', 'petstore_get_pet', 'petstore_updatePet', 'petstore_updatePetWithForm']);
    assert.ok(names.includes('fixture_echo'), names.join(','));
    const tools = (await alice.listTools()).tools as any[];
    assert.equal(tools.find((t) => t.name === 'petstore_get_pet').description, 'Look a pet up');
    assert.equal(tools.find((t) => t.name === 'petstore_findPetsByTags').description, 'Pets by tag');

    const r = await call(alice, 'petstore_get_pet', { petId: 1 });
    assert.equal(r.structuredContent.id, 1);
    assert.equal(last().headers['x-user-token'], 'alice-token');
    await call(bob, 'petstore_get_pet', { petId: 1 });
    assert.equal(last().headers['x-user-token'], 'bob-token');
    assert.equal(text(await call(alice, 'fixture_echo', { text: 'hi' })), 'fixture: hi');

    await assert.rejects(alice.callTool({ name: 'petstore_findPetsByStatus', arguments: { status: 'pending' } }), /PCL_ERR_FILTER_DENIED/);
    // Arguments are checked before the policies run: a malformed call never reaches them (nor the API).
    const malformed = await call(alice, 'petstore_findPetsByStatus', { status: ['pending'] });
    assert.equal(text(malformed), 'invalid arguments: status: must be string; status: must be equal to one of the allowed values ("available", "pending", "sold")');
    const ok = await call(alice, 'petstore_findPetsByStatus', { status: 'available' });
    assert.ok(Array.isArray(ok.structuredContent.result));
  });
});
