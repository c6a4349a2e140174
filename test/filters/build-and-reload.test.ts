import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { GatewayConfig } from '../../sdk-types/index.ts';
import { bundleFilter } from '../../core/filters/index.ts';
import { echoUpstream, eventually, send, simpleConfig, startTestGateway, type TestGateway, type Upstream } from '../helpers/gateway.ts';
import { filterFixture } from '../helpers/filters.ts';

const fixture = filterFixture;


const tagFilter = (tag: string) =>
  `import { defineFilter } from 'portcullis';\nimport { suffix } from './helper.ts';\nexport default defineFilter({ onRequest: () => ({ action: 'continue', headers: { set: { 'x-tag': '${tag}' + suffix } } }) });\n`;

describe('filter bundling', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pcl-filter-build-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('rejects an import of a Node built-in, naming the import, file and line', async () => {
    await assert.rejects(bundleFilter(fixture('uses-fs.ts'), 'routes[0].policies.filters[0].file'), (err: any) => {
      assert.equal(err.code, 'PCL_ERR_FILTER_BUILD');
      assert.match(err.message, /^routes\[0\]\.policies\.filters\[0\]\.file: cannot bundle filter /);
      assert.match(err.message, /uses-fs\.ts:2:\d+: "node:fs" is a Node\.js built-in module: filters run in a sandbox without Node APIs/);
      return true;
    });
    for (const mod of ['fs', 'child_process', 'net', 'node:http']) {
      const file = join(dir, `imports-${mod.replace(':', '-')}.ts`);
      await writeFile(file, `import * as m from '${mod}';\nexport default { onRequest: () => { void m; } };\n`);
      await assert.rejects(bundleFilter(file, 'f'), new RegExp(`"${mod}" is a Node\\.js built-in module`));
    }
  });

  it('reports a syntax error with file and line', async () => {
    const file = join(dir, 'broken.ts');
    await writeFile(file, `export default {\n  onRequest(ctx) {\n    return { action: 'continue' ;\n  },\n};\n`);
    await assert.rejects(bundleFilter(file, 'f'), (err: any) => {
      assert.equal(err.code, 'PCL_ERR_FILTER_BUILD');
      assert.match(err.message, /broken\.ts:3:\d+: Expected "}" but found ";"/);
      return true;
    });
  });

  it('type-checks the filter: a type error fails the build with file, line and TS code, unless typeCheck is false', async () => {
    const file = join(dir, 'mistyped.ts');
    await writeFile(file, `import { defineFilter } from 'portcullis';\nexport default defineFilter({\n  onRequest(ctx) {\n    const n: number = ctx.request.path;\n    return { action: 'respond', status: n };\n  },\n});\n`);
    const routes = (typeCheck?: boolean) => simpleConfig([{ policies: { filters: [{ file, typeCheck }] }, backends: [{ host: '127.0.0.1:9' }] }]);
    await assert.rejects(startTestGateway(routes()), (err: any) => {
      assert.equal(err.code, 'PCL_ERR_FILTER_BUILD');
      assert.match(err.message, /policies\.filters\[0\]\.file: type errors in filter .*mistyped\.ts:\n.*mistyped\.ts:4:11: TS2322: Type 'string' is not assignable to type 'number'\./);
      return true;
    });
    const gw = await startTestGateway(routes(false));
    try {
      assert.equal((await send(`${gw.url()}/x`)).status, 500); // status "/x" is not a number: an invalid decision
    } finally {
      await gw.close();
    }
  });

  it('bundles a pure-JavaScript npm package into the filter', async () => {
    const pkg = join(dir, 'node_modules', 'tiny-shout');
    await mkdir(pkg, { recursive: true });
    await writeFile(join(pkg, 'package.json'), JSON.stringify({ name: 'tiny-shout', version: '1.0.0', main: 'index.js' }));
    await writeFile(join(pkg, 'index.js'), `module.exports = function shout(s) { return String(s).toUpperCase() + (process.env.NODE_ENV === 'production' ? '!' : '?'); };\n`);
    const file = join(dir, 'shouting.ts');
    await writeFile(file, `import shout from 'tiny-shout';\nexport default { onRequest: (ctx: any) => ({ action: 'respond', status: 200, body: shout(ctx.request.path) }) };\n`);
    const bundle = await bundleFilter(file, 'f');
    assert.deepEqual(bundle.files, [file]);
    assert.doesNotMatch(bundle.code, /require\(['"]tiny-shout/);
    assert.match(bundle.code, /toUpperCase/);
    const gw = await startTestGateway(simpleConfig([{ policies: { filters: [{ file }] }, backends: [{ host: '127.0.0.1:9' }] }]));
    try {
      const res = await send(`${gw.url()}/quiet`);
      assert.equal(res.status, 200);
      assert.equal(res.text, '/QUIET!');
    } finally {
      await gw.close();
    }
  });

  it('refuses to start a gateway whose filter has no default export or a broken config, with the config path', async () => {
    await assert.rejects(startTestGateway(simpleConfig([{ policies: { filters: [{ file: fixture('no-export.ts') }] }, backends: [{ host: '127.0.0.1:9' }] }])), (err: any) => {
      assert.equal(err.code, 'PCL_ERR_FILTER_BUILD');
      assert.match(err.message, /policies\.filters\[0\]\.file: cannot load filter .*no-export\.ts: the filter file has no default export: write "export default defineFilter\(\{ \.\.\. \}\)"/);
      return true;
    });
    await assert.rejects(
      startTestGateway(simpleConfig([{ policies: { filters: [{ file: 'x.ts', timeoutMs: 0, memoryLimitMb: 4, failureMode: 'maybe', extra: 1 } as any] }, backends: [{ host: '127.0.0.1:9' }] }])),
      (err: any) => {
        assert.equal(err.code, 'PCL_ERR_CONFIG_INVALID');
        for (const m of [
          /policies\.filters\[0\]\.extra: unknown key/,
          /policies\.filters\[0\]\.timeoutMs: must be >= 1, got 0/,
          /policies\.filters\[0\]\.memoryLimitMb: must be >= 8, got 4/,
          /policies\.filters\[0\]\.failureMode: expected "failClosed" \| "failOpen", got "maybe"/,
        ]) {
          assert.match(err.message, m);
        }
        return true;
      },
    );
  });
});

describe('filter hot reload', () => {
  let gw: TestGateway;
  let up: Upstream;
  const config = (): GatewayConfig => simpleConfig([{ policies: { filters: [{ file: './tag.ts' }] }, backends: [{ host: up.host }] }]);

  before(async () => {
    up = await echoUpstream();
    gw = await startTestGateway(config(), { watch: true, files: { 'tag.ts': tagFilter('v1'), 'helper.ts': `export const suffix = '-a';\n` } });
  });
  after(async () => {
    await gw.close();
    await up.close();
  });

  const tag = async () => (await send(gw.url())).json().headers['x-tag'];

  it('re-bundles an edited filter and swaps it in', async () => {
    assert.equal(await tag(), 'v1-a');
    await writeFile(join(gw.dir, 'tag.ts'), tagFilter('v2'));
    await eventually(async () => (await tag()) === 'v2-a');
  });

  it('watches the files a filter imports', async () => {
    await writeFile(join(gw.dir, 'helper.ts'), `export const suffix = '-b';\n`);
    await eventually(async () => (await tag()) === 'v2-b');
  });

  it('keeps the old filter on a syntax error and logs esbuild file:line, then takes the fix', async () => {
    await writeFile(join(gw.dir, 'tag.ts'), `import { defineFilter } from 'portcullis';\nexport default defineFilter({ onRequest: () => { return ( } });\n`);
    const line = await gw.logs.waitFor((l) => l.msg === 'reload failed: still serving the previous config' && l.code === 'PCL_ERR_FILTER_BUILD');
    assert.match(line.err, /policies\.filters\[0\]\.file: cannot bundle filter .*tag\.ts:\n.*tag\.ts:2:\d+: /);
    assert.equal(await tag(), 'v2-b');
    await writeFile(join(gw.dir, 'tag.ts'), tagFilter('v3'));
    await eventually(async () => (await tag()) === 'v3-b');
  });

  it('keeps the old filter on a type error', async () => {
    await writeFile(join(gw.dir, 'tag.ts'), `import { defineFilter } from 'portcullis';\nexport default defineFilter({ onRequest: () => ({ action: 'continue', headers: { set: { 'x-tag': 42 } } }) });\n`);
    const line = await gw.logs.waitFor((l) => l.msg === 'reload failed: still serving the previous config' && /type errors in filter/.test(l.err));
    assert.match(line.err, /tag\.ts:2:\d+: TS2322: /);
    assert.equal(await tag(), 'v3-b');
  });

  it('serves every request while filters reload', async () => {
    let stop = false;
    const statuses: number[] = [];
    const load = (async () => {
      const until = Date.now() + 10_000;
      while (!stop && Date.now() < until) {
        statuses.push((await send(gw.url())).status);
        // Paced: a steady stream of requests shows none fails during a reload; back to back, they only took the
        // CPU the reloads (bundle, type check) need.
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    for (let i = 4; i <= 6; i++) {
      await writeFile(join(gw.dir, 'tag.ts'), tagFilter(`v${i}`));
      await eventually(async () => (await tag()) === `v${i}-b`);
    }
    stop = true;
    await load;
    assert.ok(statuses.length > 10);
    assert.deepEqual([...new Set(statuses)], [200]);
  });
});
