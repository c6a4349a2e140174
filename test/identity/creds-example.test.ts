import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startExample } from '../helpers/examples.ts';
import { connectClient, text } from '../helpers/mcp.ts';
import { startServices } from '../../examples/per-user-credentials/services.ts';

describe("examples/per-user-credentials: the notes service acts as the calling user", () => {
  let services: Awaited<ReturnType<typeof startServices>>;
  let gw: Awaited<ReturnType<typeof startExample>>;
  before(async () => {
    services = await startServices({ idpPort: 0, notesPort: 0 });
    process.env.IDP_URL = services.idpUrl;
    process.env.NOTES_URL = services.notesUrl;
    gw = await startExample('per-user-credentials');
  });
  after(async () => {
    await gw?.running.close();
    await services?.close();
    delete process.env.IDP_URL;
    delete process.env.NOTES_URL;
  });

  it('identity map: alice and bob reach notes as themselves; carol is refused by the policy', async () => {
    for (const [who, key] of [['alice', 'alice-demo-key'], ['bob', 'bob-demo-key']]) {
      const client = await connectClient(`${gw.url()}/mapped`, { headers: { 'x-api-key': key } });
      try {
        assert.equal(text(await client.callTool({ name: 'whoami', arguments: {} })), `notes sees ${who}`);
      } finally {
        await client.close();
      }
    }
    await assert.rejects(connectClient(`${gw.url()}/mapped`, { headers: { 'x-api-key': 'carol-demo-key' } }), /403|forbidden/);
  });

  it('token exchange: a user token of the identity provider becomes a notes token for that user', async () => {
    const token = await services.login('dana');
    const client = await connectClient(`${gw.url()}/exchanged`, { headers: { authorization: `Bearer ${token}` } });
    try {
      assert.equal(text(await client.callTool({ name: 'whoami', arguments: {} })), 'notes sees dana');
    } finally {
      await client.close();
    }
    // The notes service itself refuses the user's own token: only the exchanged one is for it.
    const direct = await fetch(`${services.notesUrl}/mcp`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{}' });
    assert.equal(direct.status, 401);
  });
});
