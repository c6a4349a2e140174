import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { adminConfig } from '../admin/setup.ts';

describe('admin playground: a caller cannot set the headers that say who the client is (issue 25, finding 6)', () => {
  let gw: TestGateway;
  let base: string;
  let csrf: string;
  const post = async (path: string, body: unknown) => {
    const res = await request(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-portcullis-csrf': csrf }, body: JSON.stringify(body) });
    return { status: res.statusCode, body: (await res.body.json()) as any };
  };

  before(async () => {
    gw = await startTestGateway(adminConfig());
    base = `http://127.0.0.1:${gw.running.admin!.port}`;
    const session = await request(`${base}/api/session`);
    csrf = ((await session.body.json()) as { csrf: string }).csrf;
  });
  after(() => gw?.close());

  it('refuses Host, X-Forwarded-For and the other reserved headers as credential.header', async () => {
    for (const header of ['Host', 'x-forwarded-for', 'X-Forwarded-Host', 'forwarded', 'x-real-ip', 'transfer-encoding', 'mcp-session-id', 'x-request-id']) {
      const res = await post('/api/mcp/list', { route: 'mcp', credential: { kind: 'apiKey', value: '203.0.113.9', header } });
      assert.equal(res.status, 400, header);
      assert.equal(res.body.error.message, `credential.header: ${JSON.stringify(header)} is not a credential header (the playground sets it itself, or the gateway reads it as the client's address or framing)`);
    }
    // A real credential header is still accepted (the route answers 401 for an unknown key: the call was made).
    const ok = await post('/api/mcp/list', { route: 'mcp', credential: { kind: 'apiKey', value: 'not-a-key', header: 'x-api-key' } });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
  });
});
