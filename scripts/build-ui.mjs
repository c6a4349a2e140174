#!/usr/bin/env node
// Builds the admin UI (ui/, Preact + TypeScript) with Vite into ui/dist, which the admin server serves at /ui.
// Runs as part of npm's postinstall; everything it needs is in node_modules, so it works offline. When Vite is
// not installed (a production install without devDependencies) it says so and leaves /ui answering "not built".
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../ui/', import.meta.url));
const outDir = fileURLToPath(new URL('../ui/dist/', import.meta.url));
const say = (text) => process.stdout.write(`[portcullis build-ui] ${text}\n`);

let vite;
try {
  vite = await import('vite');
} catch {
  say('vite is not installed (devDependencies omitted?): the admin UI is not built; /ui says how to build it');
  process.exit(0);
}

await vite.build({
  root,
  base: '/ui/',
  configFile: false,
  logLevel: process.env.PORTCULLIS_UI_BUILD_VERBOSE ? 'info' : 'warn',
  // JSX for Preact, without a plugin: Vite's own transformer with Preact's automatic runtime.
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: { outDir, emptyOutDir: true, target: 'es2022', sourcemap: false, chunkSizeWarningLimit: 1024 },
});
if (!existsSync(`${outDir}index.html`)) {
  say(`the build wrote no ${outDir}index.html`);
  process.exit(1);
}
say(`built ${outDir}`);
