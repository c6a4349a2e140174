#!/usr/bin/env node
// `npm pack` / `npm publish` of Portcullis as a package people install (`npm install portcullis`, then
// `npx portcullis start` and `import { defineConfig } from 'portcullis'`). npm runs `prepack` before it reads the
// files and `postpack` after:
//
//   prepack   builds what the package ships: the gateway as JavaScript (dist/gateway/, with the `sdk` and `testing`
//             entries that `portcullis` and `portcullis/testing` load), the .d.ts of those two (dist/types/), the
//             admin UI (ui/dist/); then swaps package.json for the one the package carries: exports pointing at
//             the build and its types, the exact files of this build (no stale chunks, no sources but the
//             sdk-types the config loader and filter type-check read), and no scripts: an install builds nothing,
//             needs neither Go nor Vite, and runs no postinstall.
//   postpack  puts the checkout's package.json back (its exports point at the TypeScript sources, which Node runs
//             in a checkout but not under node_modules).
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildGateway, outDirOf } from './build.mjs';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const PKG = join(ROOT, 'package.json');
const SAVED = join(ROOT, '.package.json.checkout');
const TYPES = join(ROOT, 'dist', 'types');
const say = (text) => process.stdout.write(`[portcullis pack] ${text}\n`);

/** The entry modules of the build and every chunk they import, transitively: what the package must hold. */
function reachable(outDir, entries) {
  const seen = new Set();
  const queue = [...entries];
  while (queue.length > 0) {
    const name = queue.pop();
    if (seen.has(name)) continue;
    seen.add(name);
    const text = readFileSync(join(outDir, name), 'utf8');
    for (const m of text.matchAll(/(?:from|import\()\s*"\.\/([^"]+\.mjs)"/g)) queue.push(m[1]);
  }
  return [...seen].sort();
}

/** Declarations of the public entries, with `./x.ts` specifiers made `./x.js` (what a consumer's tsc resolves). */
function emitTypes() {
  rmSync(TYPES, { recursive: true, force: true });
  const config = join(ROOT, '.tsconfig.pack.json');
  writeFileSync(
    config,
    JSON.stringify({
      extends: './tsconfig.json',
      compilerOptions: { noEmit: false, declaration: true, emitDeclarationOnly: true, outDir: 'dist/types', rootDir: '.', tsBuildInfoFile: null },
      include: [],
      files: ['index.ts', 'core/filters/testing.ts'],
    }),
  );
  try {
    execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', config], { cwd: ROOT, stdio: 'inherit' });
  } finally {
    rmSync(config, { force: true });
  }
  const walk = (dir) =>
    readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? walk(join(dir, d.name)) : d.name.endsWith('.d.ts') ? [join(dir, d.name)] : []));
  const files = walk(TYPES);
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, text.replace(/((?:from|import\()\s*['"])(\.{1,2}\/[^'"]+)\.ts(['"])/g, '$1$2.js$3'));
  }
  return files.map((f) => relative(ROOT, f)).sort();
}

function uiBuildFresh() {
  const built = join(ROOT, 'ui/dist/index.html');
  if (!existsSync(built)) return false;
  const at = statSync(built).mtimeMs;
  const newest = (dir) =>
    readdirSync(dir, { withFileTypes: true }).reduce((m, d) => Math.max(m, d.isDirectory() ? newest(join(dir, d.name)) : statSync(join(dir, d.name)).mtimeMs), 0);
  return Math.max(newest(join(ROOT, 'ui/src')), statSync(join(ROOT, 'ui/index.html')).mtimeMs) <= at;
}

function prepack() {
  const started = performance.now();
  if (existsSync(SAVED)) throw new Error(`${SAVED} exists: a previous pack did not finish; restore package.json from it first`);
  const outDir = outDirOf(ROOT);
  return buildGateway(ROOT).then(() => {
    // The UI is rebuilt only when a source of it is newer than the build: a pack must not swap ui/dist under an admin
    // server that is serving it (the tests run the UI while this runs).
    if (!uiBuildFresh()) execFileSync(process.execPath, [join(ROOT, 'scripts/build-ui.mjs')], { cwd: ROOT, stdio: 'inherit' });
    if (!existsSync(join(ROOT, 'ui/dist/index.html'))) throw new Error('the admin UI did not build (ui/dist/index.html is missing)');
    const types = emitTypes();
    const gateway = reachable(outDir, ['main.mjs', 'host.mjs', 'watchdog-worker.mjs', 'typecheck-worker.mjs', 'sdk.mjs', 'gateway.mjs', 'testing.mjs']).map((f) => `dist/gateway/${f}`);
    const checkout = JSON.parse(readFileSync(PKG, 'utf8'));
    const { scripts: _scripts, devDependencies: _dev, allowScripts: _allow, private: _private, ...kept } = checkout;
    const packed = {
      ...kept,
      types: './dist/types/index.d.ts',
      exports: {
        '.': { types: './dist/types/index.d.ts', default: './dist/gateway/sdk.mjs' },
        './testing': { types: './dist/types/core/filters/testing.d.ts', default: './dist/gateway/testing.mjs' },
        './package.json': './package.json',
      },
      files: ['core/cli/bin.mjs', ...gateway, ...types, 'ui/dist/', 'sdk-types/*.ts', 'schema/portcullis.config.schema.json', 'README.md'],
    };
    copyFileSync(PKG, SAVED);
    writeFileSync(PKG, `${JSON.stringify(packed, null, 2)}\n`);
    say(`built the gateway (${gateway.length} modules), ${types.length} declaration files and the UI in ${Math.round(performance.now() - started)} ms`);
  });
}

function postpack() {
  if (existsSync(SAVED)) renameSync(SAVED, PKG);
}

const step = process.argv[2];
try {
  if (step === 'prepack') await prepack();
  else if (step === 'postpack') postpack();
  else throw new Error('usage: node scripts/pack.mjs prepack|postpack');
} catch (err) {
  // A failed prepack leaves the checkout's package.json as it was.
  postpack();
  process.stderr.write(`[portcullis pack] failed: ${err.message}\n`);
  process.exitCode = 1;
}
