import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const ROOT = new URL('../../', import.meta.url).pathname;
const EXAMPLES = join(ROOT, 'examples');
const NODE = process.execPath;
const BIN = join(ROOT, 'core/cli/bin.mjs');

/** The ports an example's config files name (`port: N` in TypeScript or YAML, and `?? N` defaults of PORT). */
function portsOf(dir: string): Set<number> {
  const ports = new Set<number>();
  for (const f of readdirSync(dir)) {
    if (!/\.(ts|mjs|yaml)$/.test(f)) continue;
    const text = readFileSync(join(dir, f), 'utf8');
    for (const m of text.matchAll(/port: (\d{2,5})\b|PORT \?\? (\d{2,5})\)/g)) ports.add(Number(m[1] ?? m[2]));
  }
  return ports;
}

describe('a newcomer\'s first hour', () => {
  const examples = readdirSync(EXAMPLES, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);

  it('every example has a README that says what it shows, how to run it and what you should see', () => {
    for (const name of examples) {
      const readme = readFileSync(join(EXAMPLES, name, 'README.md'), 'utf8');
      assert.match(readme, /^# \S/, `${name}: a title`);
      assert.match(readme, /^## Run it$/m, `${name}: how to run it`);
      assert.match(readme, /^## What you should see$/m, `${name}: what you should see`);
    }
  });

  it('examples use ports of their own (the two forms of one example share theirs)', () => {
    const owner = new Map<number, string>();
    for (const name of examples) {
      for (const port of portsOf(join(EXAMPLES, name))) {
        assert.ok(!owner.has(port) || owner.get(port) === name, `port ${port} is used by ${owner.get(port)} and ${name}`);
        owner.set(port, name);
      }
    }
    assert.ok(owner.size >= examples.length);
  });

  it('a .ts file is never run with the machine\'s plain node in the docs (it may be Node 20): node_modules/.bin/node or npx portcullis', () => {
    const docs = [join(ROOT, 'README.md'), ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => join(ROOT, 'docs', f)), ...examples.flatMap((n) => readdirSync(join(EXAMPLES, n)).map((f) => join(EXAMPLES, n, f)).filter((f) => /\.(md|ts)$/.test(f)))];
    for (const file of docs) {
      const text = readFileSync(file, 'utf8');
      const bad = text.match(/(?<![\w/.-])node (?:--\S+ )*examples\/\S+\.ts/);
      assert.equal(bad, null, `${file}: ${bad?.[0]}`);
    }
  });

  it('policy eval has a sample input beside the authorization example, and it answers as the README says', () => {
    const sample = join(EXAMPLES, 'authorization', 'sample-input.json');
    const run = (input: string) => spawnSync(NODE, [BIN, 'policy', 'eval', '-c', 'examples/authorization/gateway.config.ts', '--input', input], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    const ok = run(sample);
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(JSON.parse(ok.stdout).allow, true);
    const dir = mkdtempSync(join(tmpdir(), 'pcl-eval-'));
    try {
      const denied = JSON.parse(readFileSync(sample, 'utf8'));
      denied.mcp.tool = 'gzip-file-as-resource';
      writeFileSync(join(dir, 'denied.json'), JSON.stringify(denied));
      const no = run(join(dir, 'denied.json'));
      assert.equal(JSON.parse(no.stdout).allow, false, no.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('npm install provides what the gateway needs and nothing else: the test tools come from npm run setup:test', () => {
    const { scripts } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    assert.equal(scripts.postinstall, 'node scripts/install-tools.mjs && node scripts/build-ui.mjs && node scripts/build.mjs');
    assert.equal(scripts['setup:test'], 'node scripts/setup-test.mjs');
    // The postinstall's tool step, run as npm runs it: OPA (found here) and nothing about test tools.
    const r = spawnSync(NODE, [join(ROOT, 'scripts/install-tools.mjs')], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^\[portcullis install-tools\] opa found (on PATH|at \S+): nothing to install\n$/);
    // setup:test provides Jaeger, promtool and the Python venv the tests look for.
    const setup = readFileSync(join(ROOT, 'scripts/setup-test.mjs'), 'utf8');
    assert.match(setup, /^installGoTools\(\);$/m);
    assert.match(setup, /^installPython\(\);$/m);
    assert.match(readFileSync(join(ROOT, 'scripts/install-go-tools.mjs'), 'utf8'), /name: 'jaeger'[\s\S]*name: 'promtool'/);
    assert.match(readFileSync(join(ROOT, 'scripts/install-python.mjs'), 'utf8'), /'-m', 'venv', venv/);
    assert.match(readFileSync(join(ROOT, 'test/mcp/python-client.test.ts'), 'utf8'), /\.tools\/python\/bin\/python3/);
  });
});
