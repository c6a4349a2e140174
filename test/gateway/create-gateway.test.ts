import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createGateway as createFromRoot } from '../../index.ts';
import { createGateway } from '../../core/gateway/index.ts';
import type { GatewayConfig } from '../../sdk-types/index.ts';

const quiet = { admin: { address: false }, readiness: { address: false }, stats: { address: false }, logging: { level: 'silent' } } as const;
const answering = (body: string): GatewayConfig => ({
  ...quiet,
  binds: [{ port: 0, address: '127.0.0.1', listeners: [{ routes: [{ policies: { directResponse: { status: 200, body } } }] }] }],
});

describe('createGateway: one way to start, in process first', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pcl-create-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('answers a config object in process, with no socket, and reloads to another object', async () => {
    const gateway = await createGateway(answering('one'));
    try {
      const res = await gateway.handle(new Request('http://localhost/anything'));
      assert.equal(res.status, 200);
      assert.equal(await res.text(), 'one');
      assert.deepEqual(gateway.gateway.ports(), [], 'nothing listens');
      assert.deepEqual(await gateway.reload(answering('two')), { ok: true });
      assert.equal(await (await gateway.handle(new Request('http://localhost/'))).text(), 'two');
    } finally {
      await gateway.close();
    }
  });

  it('refuses a bad config object with PCL_ERR_CONFIG_INVALID and every issue with its path', async () => {
    await assert.rejects(createGateway({ ...quiet, binds: [{ port: 'x' as unknown as number, listeners: [] }] }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'PCL_ERR_CONFIG_INVALID');
      assert.equal(err.message, 'invalid configuration in the config object:\nbinds[0].port: expected integer, got string\nbinds[0].listeners: expected at least 1 item(s), got 0');
      return true;
    });
  });

  it('keeps serving the old config when a reload is invalid, and says why', async () => {
    const gateway = await createGateway(answering('kept'));
    try {
      const result = await gateway.reload({ ...quiet, binds: [] } as unknown as GatewayConfig);
      assert.equal(result.ok, false);
      assert.equal((result.error as Error & { code?: string }).code, 'PCL_ERR_CONFIG_INVALID');
      assert.equal(await (await gateway.handle(new Request('http://localhost/'))).text(), 'kept');
    } finally {
      await gateway.close();
    }
  });

  it('starts from a config file: handle, then listen on port 0 with the port read back, reload reads the file again', async () => {
    const file = join(dir, 'gateway.config.ts');
    await writeFile(file, `export default ${JSON.stringify(answering('from the file'))};\n`);
    const gateway = await createGateway(file);
    try {
      assert.equal(await (await gateway.handle(new Request('http://localhost/'))).text(), 'from the file');
      const { ports } = await gateway.listen();
      assert.equal(ports.length, 1);
      assert.ok(ports[0]! > 0);
      assert.equal(await (await fetch(`http://127.0.0.1:${ports[0]}/`)).text(), 'from the file');
      await writeFile(file, `export default ${JSON.stringify(answering('edited'))};\n`);
      assert.deepEqual(await gateway.reload(), { ok: true });
      assert.equal(await (await fetch(`http://127.0.0.1:${ports[0]}/`)).text(), 'edited');
      assert.equal(await (await gateway.handle(new Request('http://localhost/'))).text(), 'edited');
      const refused = await gateway.reload(answering('object'));
      assert.equal(refused.ok, false);
      assert.match(String(refused.error?.message), /created from a file/);
    } finally {
      await gateway.close();
    }
  });

  it('answers 503 PCL_ERR_SHUTTING_DOWN once closed, and refuses to listen', async () => {
    const gateway = await createGateway(answering('x'));
    await gateway.close();
    const res = await gateway.handle(new Request('http://localhost/'));
    assert.equal(res.status, 503);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'PCL_ERR_SHUTTING_DOWN');
    await assert.rejects(gateway.listen(), /closed/);
  });

  it('is exported from the package root, which loads the implementation on first call', async () => {
    const gateway = await createFromRoot(answering('root'));
    try {
      assert.equal(await (await gateway.handle(new Request('http://localhost/'))).text(), 'root');
    } finally {
      await gateway.close();
    }
  });
});
