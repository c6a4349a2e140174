// Portcullis as a package a TypeScript user installs: `npm pack`, then in an empty folder `npm install <tarball>`,
// `npx portcullis start` serves a config, and a gateway.config.ts importing 'portcullis' type-checks with tsc.
// Dependencies come from npm's cache or the registry. Takes about 40 s (pack ~8 s, install ~20 s, the rest ~10 s).
import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';

const ROOT = new URL('../../', import.meta.url).pathname;
/** npm, npx and the packages' `#!/usr/bin/env node` run on this Node (24), as under `npm test`. */
const ENV = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH}`, npm_config_update_notifier: 'false', npm_lifecycle_event: undefined };
const { version, devDependencies } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; devDependencies: Record<string, string> };
const sh = (cmd: string, args: string[], options: SpawnSyncOptions = {}) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: ENV, timeout: 180_000, ...options });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
};

describe('the npm package', { timeout: 300_000 }, () => {
  let dir: string;
  let app: string;
  let tarball: string;
  const timings: string[] = [];
  const timed = <T>(what: string, fn: () => T): T => {
    const started = performance.now();
    const result = fn();
    timings.push(`${what} ${Math.round(performance.now() - started)} ms`);
    return result;
  };

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'pcl-pack-'));
    app = join(dir, 'app');
    const packed = timed('npm pack', () => sh('npm', ['pack', '--pack-destination', dir], { cwd: ROOT }));
    assert.equal(packed.status, 0, packed.out);
    tarball = join(dir, readdirSync(dir).find((f) => f.endsWith('.tgz'))!);
  });
  after(() => {
    process.stdout.write(`# package test: ${timings.join(', ')}\n`);
    rmSync(dir, { recursive: true, force: true });
  });

  it('holds the build, its types, the prebuilt UI and the bin; no sources, tests or build scripts; runtime dependencies only', () => {
    const files = sh('tar', ['-tzf', tarball]).out.split('\n').filter(Boolean);
    for (const f of ['core/cli/bin.mjs', 'dist/gateway/main.mjs', 'dist/gateway/sdk.mjs', 'dist/gateway/gateway.mjs', 'dist/gateway/testing.mjs', 'dist/gateway/host.mjs', 'dist/types/index.d.ts', 'dist/types/sdk-types/index.d.ts', 'dist/types/sdk-types/gateway.d.ts', 'dist/types/core/filters/testing.d.ts', 'ui/dist/index.html', 'package.json']) {
      assert.ok(files.includes(`package/${f}`), `${f} is missing from the package`);
    }
    const bad = files.filter((f) => /^package\/(test|scripts|bench|examples|policies)\//.test(f) || (f.startsWith('package/core/') && f.endsWith('.ts')) || f.endsWith('stamp.json'));
    assert.deepEqual(bad, []);
    const pkg = JSON.parse(sh('tar', ['-xzOf', tarball, 'package/package.json']).out) as Record<string, any>;
    assert.equal(pkg.private, undefined);
    assert.deepEqual(pkg.engines, { node: '>=24' });
    assert.equal(pkg.bin.portcullis, 'core/cli/bin.mjs');
    assert.equal(pkg.scripts, undefined, 'an install runs no script of ours (no Go, no Vite, no UI build)');
    assert.equal(pkg.devDependencies, undefined);
    for (const dev of ['vite', 'preact', 'typescript', 'playwright-core', 'node']) assert.equal(pkg.dependencies[dev], undefined, `${dev} is not a runtime dependency`);
    assert.deepEqual(pkg.exports['.'], { types: './dist/types/index.d.ts', default: './dist/gateway/sdk.mjs' });
    // The checkout's package.json is back as it was (its exports point at the TypeScript sources).
    assert.equal(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).exports['.'], './index.ts');
    assert.ok(!existsSync(join(ROOT, '.package.json.checkout')));
  });

  it('installs in an empty folder; npx portcullis answers and serves a config, UI included; tsc checks a config and a filter test importing it', async () => {
    sh('mkdir', ['-p', app]);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'my-gateway', private: true, type: 'module' }));
    const install = timed('npm install', () =>
      sh('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball, `typescript@${devDependencies.typescript}`, `@types/node@${devDependencies['@types/node']}`], { cwd: app }),
    );
    assert.equal(install.status, 0, install.out);
    assert.doesNotMatch(install.out, /install-tools|jaeger|promtool|build-ui/);
    for (const absent of ['vite', 'playwright-core', 'node/bin']) assert.ok(!existsSync(join(app, 'node_modules', absent)), `${absent} was installed`);

    const ver = sh('npx', ['portcullis', '--version'], { cwd: app });
    assert.equal(ver.out, `portcullis ${version}\n`);

    writeFileSync(
      join(app, 'gateway.config.ts'),
      [
        "import { defineConfig, defineFilter, type McpTarget } from 'portcullis';",
        "export const tenant = defineFilter({ name: 'tenant', onRequest: () => ({ action: 'continue' }) });",
        "export const target: McpTarget = { name: 'everything', stdio: { cmd: 'node', args: ['server.js'] } };",
        'export default defineConfig({',
        "  admin: { address: '127.0.0.1:0' }, readiness: { address: false }, stats: { address: false },",
        "  binds: [{ port: 0, address: '127.0.0.1', listeners: [{ routes: [{ policies: { directResponse: { status: 200, body: 'hello from the package' } } }] }] }],",
        '});',
        '',
      ].join('\n'),
    );
    writeFileSync(join(app, 'filter.check.ts'), "import { testFilter } from 'portcullis/testing';\nimport type { FilterHarness } from 'portcullis';\nexport const h: Promise<FilterHarness> = testFilter('./f.ts');\n");
    const tsconfig = (include: string[]) => JSON.stringify({ compilerOptions: { target: 'es2024', module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true, types: ['node'] }, include });
    writeFileSync(join(app, 'embed.check.ts'), "import { createGateway, type PortcullisGateway } from 'portcullis';\nexport const g: Promise<PortcullisGateway> = createGateway('./gateway.config.ts', { watch: false });\n");
    writeFileSync(join(app, 'tsconfig.json'), tsconfig(['gateway.config.ts', 'filter.check.ts', 'embed.check.ts']));
    const tsc = timed('tsc', () => sh(join(app, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json'], { cwd: app }));
    assert.equal(tsc.status, 0, tsc.out);
    // The check can fail: a wrong type in the config is a tsc error naming the field.
    writeFileSync(join(app, 'bad.config.ts'), "import { defineConfig } from 'portcullis';\nexport default defineConfig({ binds: [{ port: '3000', listeners: [] }] });\n");
    writeFileSync(join(app, 'tsconfig.bad.json'), tsconfig(['bad.config.ts']));
    const bad = sh(join(app, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.bad.json'], { cwd: app });
    assert.notEqual(bad.status, 0);
    assert.match(bad.out, /bad\.config\.ts.*error TS2322: Type 'string' is not assignable to type 'number'/);

    // The programmatic API from the package root: a config answered in process, no socket.
    writeFileSync(
      join(app, 'embed.mjs'),
      [
        "import { createGateway } from 'portcullis';",
        "const gateway = await createGateway({ admin: { address: false }, readiness: { address: false }, stats: { address: false }, binds: [{ port: 0, listeners: [{ routes: [{ policies: { directResponse: { status: 200, body: 'embedded' } } }] }] }] });",
        "const res = await gateway.handle(new Request('http://localhost/'));",
        'process.stdout.write(`${res.status} ${await res.text()}\\n`);',
        'await gateway.close();',
        '',
      ].join('\n'),
    );
    const embedded = sh(process.execPath, ['--no-node-snapshot', 'embed.mjs'], { cwd: app });
    assert.match(embedded.out, /^200 embedded$/m, embedded.out);

    const child = spawn('npx', ['portcullis', 'start', '--no-watch'], { cwd: app, env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      const started = performance.now();
      const portOf = (msg: string) => new RegExp(`"port":(\\d+),[^\\n]*"msg":"${msg}"`).exec(out)?.[1] ?? new RegExp(`"msg":"${msg}"[^\\n]*"port":(\\d+)`).exec(out)?.[1];
      await new Promise<void>((resolve, reject) => {
        const check = () => {
          if (portOf('listening') && portOf('admin server listening')) resolve();
        };
        child.stdout.on('data', check);
        exited.then(() => reject(new Error(`npx portcullis start exited:\n${out}`)));
        setTimeout(() => reject(new Error(`npx portcullis start: not listening after 60 s:\n${out}`)), 60_000).unref();
      });
      timings.push(`npx portcullis start ${Math.round(performance.now() - started)} ms`);
      const res = await fetch(`http://127.0.0.1:${portOf('listening')}/`);
      assert.equal(await res.text(), 'hello from the package');
      const ui = await fetch(`http://127.0.0.1:${portOf('admin server listening')}/ui/`);
      assert.equal(ui.status, 200);
      assert.match(await ui.text(), /<script type="module"[^>]*src="\/ui\/assets\//);
    } finally {
      child.kill('SIGTERM');
    }
    // npx runs the bin through `sh -c`, which dies of the SIGTERM; the gateway follows it and drains (README, CLI).
    await exited;
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        if (out.includes('"msg":"stopped"')) resolve();
      };
      child.stdout.on('data', check);
      check();
      setTimeout(() => reject(new Error(`the gateway did not stop after npx got SIGTERM:\n${out}`)), 30_000).unref();
    });
  });
});
