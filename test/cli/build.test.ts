import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { listenPort, startCli } from '../helpers/replica.ts';
// @ts-expect-error plain JavaScript module without declarations
import { buildGateway, freshGatewayBuild } from '../../scripts/build.mjs';

const ROOT = new URL('../../', import.meta.url).pathname;

/**
 * Runs `fn` while the source `file` is replaced by one that throws, of the same size and mtime: a build made before
 * still counts as fresh, so only a process that runs the TypeScript sources fails. The source is put back after.
 */
async function withFailingSource(file: string, fn: () => Promise<void> | void): Promise<void> {
  const original = readFileSync(file, 'utf8');
  const st = statSync(file);
  const failing = "throw new Error('the TypeScript sources ran');\n";
  writeFileSync(file, failing + ' '.repeat(Buffer.byteLength(original) - Buffer.byteLength(failing)));
  utimesSync(file, st.atime, st.mtime);
  try {
    await fn();
  } finally {
    writeFileSync(file, original);
    utimesSync(file, st.atime, st.mtime);
  }
}

/**
 * The JavaScript build the CLI runs (scripts/build.mjs), on a copy of the checkout so that the real build is left
 * alone: made once, taken as fresh until a source changes, rebuilt on start, and PORTCULLIS_SOURCE=1 for the sources.
 */
describe('the gateway runs from its JavaScript build', () => {
  let root: string;
  const cli = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(process.execPath, ['--no-node-snapshot', join(root, 'core/cli/bin.mjs'), ...args], { cwd: root, encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env } });

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'pcl-build-'));
    for (const dir of ['core', 'policies', 'sdk-types', 'scripts', 'index.ts']) cpSync(join(ROOT, dir), join(root, dir), { recursive: true });
    cpSync(join(ROOT, 'package.json'), join(root, 'package.json'));
    symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules'));
    writeFileSync(join(root, 'gw.config.ts'), "export default { binds: [{ port: 39999, listeners: [{ routes: [{ backends: [{ host: '127.0.0.1:1' }] }] }] }] };\n");
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('is missing until built, then fresh until a source file changes or goes', async () => {
    assert.equal(freshGatewayBuild(root), undefined);
    const main: string = await buildGateway(root);
    assert.equal(main, join(root, 'dist/gateway/main.mjs'));
    assert.equal(freshGatewayBuild(root), main);
    for (const entry of ['host', 'watchdog-worker', 'typecheck-worker']) assert.ok(statSync(join(root, 'dist/gateway', `${entry}.mjs`)).isFile(), entry);

    const file = join(root, 'core/errors.ts');
    const before = statSync(file);
    utimesSync(file, before.atime, new Date(before.mtimeMs + 5000));
    assert.equal(freshGatewayBuild(root), undefined, 'a touched source makes the build stale');
    utimesSync(file, before.atime, before.mtime);
    assert.equal(freshGatewayBuild(root), main);

    const stamp = JSON.parse(readFileSync(join(root, 'dist/gateway/stamp.json'), 'utf8')) as { inputs: Array<[string, number, number]> };
    assert.ok(stamp.inputs.some(([f]) => f === 'core/cli/main.ts'));
    assert.ok(!stamp.inputs.some(([f]) => f.includes('node_modules')), 'npm packages are not part of the build');
  });

  it('the CLI runs the build, not the sources, and PORTCULLIS_SOURCE=1 runs the sources', async () => {
    await buildGateway(root);
    await withFailingSource(join(root, 'core/cli/main.ts'), () => {
      const built = cli(['validate', '-c', 'gw.config.ts']);
      assert.equal(built.status, 0, built.stderr);
      assert.match(built.stdout, /gw\.config\.ts: valid/);
      const source = cli(['validate', '-c', 'gw.config.ts'], { PORTCULLIS_SOURCE: '1' });
      assert.notEqual(source.status, 0);
      assert.match(source.stderr, /the TypeScript sources ran/);
    });
  });

  it('rebuilds on start after a source change, and falls back to the sources when it cannot build', async () => {
    await buildGateway(root);
    const file = join(root, 'core/errors.ts');
    const st = statSync(file);
    utimesSync(file, st.atime, new Date(st.mtimeMs + 10_000));
    assert.equal(freshGatewayBuild(root), undefined);
    const r = cli(['validate', '-c', 'gw.config.ts']);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(freshGatewayBuild(root), 'the CLI rebuilt the stale build');

    // A checkout where dist/ cannot be written (here a file stands in its way): the sources run, with a note.
    rmSync(join(root, 'dist'), { recursive: true, force: true });
    writeFileSync(join(root, 'dist'), 'not a folder');
    const fallback = cli(['validate', '-c', 'gw.config.ts']);
    assert.equal(fallback.status, 0, fallback.stderr);
    assert.match(fallback.stderr, /could not build the gateway to JavaScript .*running the TypeScript sources/);
    assert.match(fallback.stdout, /gw\.config\.ts: valid/);
  });

  it('a gateway started from the build serves, its filters running in the built sandbox host', async () => {
    rmSync(join(root, 'dist'), { recursive: true, force: true });
    await buildGateway(root);
    // The host's source fails if it runs, so a filter that answers proves the built host ran it.
    await withFailingSource(join(root, 'core/sandbox/host.ts'), () => serveThroughFilter());
  });

  async function serveThroughFilter(): Promise<void> {
    writeFileSync(join(root, 'deny.ts'), "import { defineFilter } from 'portcullis';\nexport default defineFilter({ name: 'deny', onRequest(ctx) { return ctx.request.headers['x-ok'] === '1' ? { action: 'continue' } : { action: 'respond', status: 403, body: { denied: true } }; } });\n");
    writeFileSync(
      join(root, 'filter.config.ts'),
      `export default { admin: { address: false }, readiness: { address: false }, stats: { address: false }, binds: [{ port: 0, address: '127.0.0.1', listeners: [{ routes: [{ policies: { filters: [{ file: './deny.ts' }], directResponse: { status: 200, body: 'ok' } } }] }] }] };\n`,
    );
    const gateway = await startCli(['start', '--no-watch', '-c', 'filter.config.ts'], { cwd: root, bin: join(root, 'core/cli/bin.mjs') });
    try {
      const port = await listenPort(gateway, 60_000);
      const stderr = gateway.output();
      const denied = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(15_000) });
      assert.equal(denied.status, 403, stderr);
      assert.deepEqual(await denied.json(), { denied: true });
      const allowed = await fetch(`http://127.0.0.1:${port}/`, { headers: { 'x-ok': '1' }, signal: AbortSignal.timeout(15_000) });
      assert.equal(allowed.status, 200);
      assert.equal(await allowed.text(), 'ok');
    } finally {
      await gateway.stop('SIGTERM');
    }
  }
});
