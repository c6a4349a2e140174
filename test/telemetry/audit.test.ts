import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { configSource, echoUpstream, send, simpleConfig, startTestGateway } from '../helpers/gateway.ts';
import { withHeldPortRetry } from '../helpers/held-ports.ts';
import { startCli } from '../helpers/replica.ts';

const KEY = 'audit-key';
const apiKey = { header: 'x-api-key', keys: [{ name: 'agent-9', sha256: createHash('sha256').update(KEY).digest('hex') }] };

async function lines(file: string): Promise<Array<Record<string, any>>> {
  return (await readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

async function until<T>(get: () => Promise<T | undefined>, what: string, timeoutMs = 5000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await get();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`${what} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('the audit log: one line per decision, its own destination, whatever the log level', () => {
  it('writes allow and deny decisions with who, what, policy and reason to a file, while the access log is off', async () => {
    const up = await echoUpstream();
    const gw = await startTestGateway({
      ...simpleConfig([{ name: 'api', policies: { apiKey }, backends: [{ host: up.host }] }]),
      logging: { level: 'error', accessLog: false },
      audit: { destination: { file: './audit/audit.log' } },
    });
    try {
      const file = join(gw.dir, 'audit', 'audit.log');
      assert.equal((await send(`${gw.url()}/x`, { headers: { 'x-api-key': KEY } })).status, 200);
      assert.equal((await send(`${gw.url()}/y`, { headers: { 'x-api-key': 'wrong' } })).status, 401);
      const got = await until(async () => ((await lines(file)).length >= 2 ? lines(file) : undefined), 'two audit lines');
      const pick = (l: Record<string, any>) => ({ type: l.type, decision: l.decision, policy: l.policy, phase: l.phase, level: l.level, route: l.route, method: l.method, path: l.path, who: l['enduser.id'], errorCode: l.errorCode, client: l.client });
      assert.deepEqual(got.map(pick), [
        { type: 'audit', decision: 'allow', policy: 'apiKey', phase: 'authentication', level: 'http', route: 'api', method: 'GET', path: '/x', who: 'agent-9', errorCode: undefined, client: '127.0.0.1' },
        { type: 'audit', decision: 'deny', policy: 'apiKey', phase: 'authentication', level: 'http', route: 'api', method: 'GET', path: '/y', who: undefined, errorCode: 'PCL_ERR_UNAUTHENTICATED', client: '127.0.0.1' },
      ]);
      assert.ok(got.every((l) => typeof l.request_id === 'string' && !Number.isNaN(Date.parse(l.time))));
      assert.equal(gw.logs.lines.filter((l) => l.type === 'access').length, 0, 'the access log is off');
    } finally {
      await gw.close();
      await up.close();
    }
  });

  it('rotates the file at maxBytes and keeps maxFiles', async () => {
    const gw = await startTestGateway({
      ...simpleConfig([{ name: 'r', policies: { apiKey, directResponse: { status: 200 } } }]),
      audit: { destination: { file: './audit.log', maxBytes: 1024, maxFiles: 2 } },
    });
    try {
      for (let i = 0; i < 40; i++) await send(`${gw.url()}/p${i}`, { headers: { 'x-api-key': KEY } });
      const names = await until(async () => {
        const n = (await readdir(gw.dir)).filter((f) => f.startsWith('audit.log')).sort();
        return n.length === 3 ? n : undefined;
      }, 'three audit files');
      assert.deepEqual(names, ['audit.log', 'audit.log.1', 'audit.log.2']);
      // Every file holds whole lines, none above the limit by more than one line.
      for (const n of names) {
        const text = await readFile(join(gw.dir, n), 'utf8');
        for (const l of text.split('\n').filter(Boolean)) assert.equal(JSON.parse(l).type, 'audit');
        assert.ok(Buffer.byteLength(text) <= 1024 + 700, `${n}: ${Buffer.byteLength(text)} bytes`);
      }
      const newest = await lines(join(gw.dir, 'audit.log'));
      assert.ok(newest.length === 0 || newest.at(-1)!.path.startsWith('/p'));
    } finally {
      await gw.close();
    }
  });

  it('stdout: lines carry "type":"audit" beside the logger output (a real gateway process)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pcl-audit-'));
    const file = join(dir, 'gateway.config.ts');
    // At level warn the gateway logs no port: it is told one in advance, held below the ephemeral range.
    const { gw, port } = await withHeldPortRetry(
      async (port) => {
        await writeFile(
          file,
          configSource({
            binds: [{ port, address: '127.0.0.1', listeners: [{ routes: [{ name: 'r', policies: { apiKey, directResponse: { status: 204 } } }] }] }],
            admin: { address: false },
            readiness: { address: false },
            stats: { address: false },
            logging: { level: 'warn' },
            audit: { destination: 'stdout' },
          }),
        );
        const gw = await startCli(['-c', file, '--no-watch']);
        const answered = await until(async () => {
          if (gw.child.exitCode !== null) return false;
          try {
            return (await send(`http://127.0.0.1:${port}/z`, { headers: { 'x-api-key': KEY } })).status === 204 ? true : undefined;
          } catch {
            return undefined;
          }
        }, `the gateway to answer (output: ${gw.output()})`, 20_000);
        if (!answered) {
          await gw.exited;
          throw new Error(gw.output());
        }
        return { gw, port };
      }
    );
    const out = gw.stdout();
    try {
      const line = JSON.stringify(await gw.waitFor((l) => l.type === 'audit', 5000, 'an audit line on stdout'));
      const parsed = JSON.parse(line);
      assert.deepEqual([parsed.decision, parsed.policy, parsed.path, parsed['enduser.id']], ['allow', 'apiKey', '/z', 'agent-9']);
      assert.ok(!gw.output().includes('"type":"access"'), 'at level warn there is no access line, the audit line is there anyway');
      assert.ok(gw.stdout().includes('"type":"audit"'), `on stdout: ${out}`);
    } finally {
      await gw.stop('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    }
  });
});
