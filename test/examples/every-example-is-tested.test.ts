import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { it } from 'node:test';

const root = new URL('../../', import.meta.url);

function testSources(dir: URL): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    if (d.isDirectory()) return d.name === 'fixtures' ? [] : testSources(new URL(`${d.name}/`, dir));
    return d.name.endsWith('.test.ts') ? [readFileSync(new URL(d.name, dir), 'utf8')] : [];
  });
}

it('every folder in examples/ has a config and a test that starts it', () => {
  const names = readdirSync(new URL('examples/', root), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
  assert.ok(names.length > 0);
  const sources = testSources(new URL('test/', root)).filter((s) => !s.includes('every folder in examples/'));
  for (const name of names) {
    const files = readdirSync(new URL(`examples/${name}/`, root));
    assert.ok(files.some((f) => /\.(ts|ya?ml|json)$/.test(f)), `examples/${name} has no config file`);
    const started = sources.some((s) => s.includes(`startExample('${name}'`) || s.includes(`examples/${name}/`));
    assert.ok(started, `no test starts examples/${name} (use startExample('${name}') from test/helpers/examples.ts)`);
  }
});
