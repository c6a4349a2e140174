import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ensureUiBuilt, REPO } from './setup.ts';

const run = promisify(execFile);

describe('admin UI build', () => {
  it('typechecks (ui/ has its own tsconfig: DOM types, Preact JSX)', async () => {
    const r = await run(process.execPath, [`${REPO}node_modules/typescript/bin/tsc`, '-p', `${REPO}ui/tsconfig.json`], { timeout: 120_000 }).catch((e) => e);
    assert.equal(r.code ?? 0, 0, `${r.stdout ?? ''}${r.stderr ?? ''}`);
  });

  it('is self-contained: the page loads only its own assets, nothing from the network', () => {
    ensureUiBuilt();
    const html = readFileSync(`${REPO}ui/dist/index.html`, 'utf8');
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    assert.ok(refs.some((r) => /^\/ui\/assets\/index-[\w-]+\.js$/.test(r)), `no app script in ${JSON.stringify(refs)}`);
    for (const ref of refs) assert.match(ref, /^(\/ui\/assets\/|data:)/, `${ref} is not one of the UI's own files`);
  });
});
