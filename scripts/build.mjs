#!/usr/bin/env node
// Builds the gateway to JavaScript: core/ (with policies/ and sdk-types/) bundled by esbuild into dist/gateway/,
// one file per entry (the CLI's main, the sandbox host, its watchdog worker, the filter type-check worker) plus
// shared chunks; npm packages stay external and load from node_modules. `portcullis` runs the build rather than the
// TypeScript sources: Node strips types from every .ts file it loads with a WebAssembly compiler that keeps about
// 30 MiB for the life of the process, which is a third of an idle gateway. The CLI rebuilds on start when a source
// file changed since (see `freshGatewayBuild`), so the build never runs stale code; npm's postinstall builds it once.
//
// dist/gateway/ is two folders below the repository root, like every module in core/<folder>/: paths that modules
// write relative to themselves ('../../package.json', '../../ui/dist/') hold in both.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('../', import.meta.url)));
/** Where the build goes in a checkout at `root`. */
export const outDirOf = (root = ROOT) => join(root, 'dist', 'gateway');
/** Bumped when the build's options change, so that an older build is not taken for fresh. */
const FORMAT = 2;
const ENTRIES = {
  main: 'core/cli/main.ts',
  host: 'core/sandbox/host.ts',
  'watchdog-worker': 'core/sandbox/watchdog-worker.ts',
  'typecheck-worker': 'core/filters/typecheck-worker.ts',
  // What `import ... from 'portcullis'` and 'portcullis/testing' load from the installed package (see scripts/pack.mjs).
  sdk: 'index.ts',
  // createGateway's implementation, loaded by the sdk entry on first call.
  gateway: 'core/gateway/index.ts',
  testing: 'core/filters/testing.ts',
};
/** Chunks a newer build no longer names are removed once this old: a gateway started earlier may still load them. */
const STALE_CHUNK_MS = 24 * 3600 * 1000;

/**
 * The build's main module when it is fresh: every source file it was made from still has the size and mtime it had
 * then (the mtime within a millisecond: one set back through `utimes` comes back a hair off), and it was made for
 * this folder. Otherwise undefined. A few hundred `stat` calls, about a millisecond.
 */
export function freshGatewayBuild(root = ROOT) {
  root = resolve(root);
  const outDir = outDirOf(root);
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(join(outDir, 'stamp.json'), 'utf8'));
  } catch {
    return undefined;
  }
  if (stamp.format !== FORMAT || stamp.root !== root || !Array.isArray(stamp.inputs)) return undefined;
  for (const [file, size, mtimeMs] of stamp.inputs) {
    let st;
    try {
      st = statSync(join(root, file));
    } catch {
      return undefined;
    }
    if (st.size !== size || Math.abs(st.mtimeMs - mtimeMs) >= 1) return undefined;
  }
  const main = join(outDir, 'main.mjs');
  return existsSync(main) ? main : undefined;
}

/**
 * Builds dist/gateway/ and returns its main module. Safe to run from several processes at once (tests start many
 * gateways): each builds in its own folder, then moves files in one by one (a rename replaces a file atomically), the
 * stamp last. Chunks are named by content, and an older build's chunks stay a while for the gateways using them.
 */
export async function buildGateway(root = ROOT) {
  root = resolve(root);
  const { build } = await import('esbuild');
  const outDir = outDirOf(root);
  mkdirSync(outDir, { recursive: true });
  const tmp = mkdtempSync(join(root, 'dist', '.gateway-'));
  try {
    const result = await build({
      absWorkingDir: root,
      entryPoints: ENTRIES,
      outdir: tmp,
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node24',
      packages: 'external',
      outExtension: { '.js': '.mjs' },
      chunkNames: 'chunk-[hash]',
      metafile: true,
      logLevel: 'silent',
      legalComments: 'none',
    });
    const inputs = Object.keys(result.metafile.inputs)
      .filter((f) => !f.includes('node_modules/'))
      .sort()
      .map((f) => {
        const st = statSync(join(root, f));
        return [f, st.size, st.mtimeMs];
      });
    const written = new Set(readdirSync(tmp));
    for (const name of written) {
      if (name.startsWith('chunk-') && existsSync(join(outDir, name))) continue;
      renameSync(join(tmp, name), join(outDir, name));
    }
    const now = Date.now();
    for (const name of readdirSync(outDir)) {
      if (!name.startsWith('chunk-') || written.has(name)) continue;
      const path = join(outDir, name);
      if (now - statSync(path).mtimeMs > STALE_CHUNK_MS) rmSync(path, { force: true });
    }
    const stampTmp = join(tmp, 'stamp.json');
    writeFileSync(stampTmp, `${JSON.stringify({ format: FORMAT, root, inputs })}\n`);
    renameSync(stampTmp, join(outDir, 'stamp.json'));
    return join(outDir, 'main.mjs');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const started = performance.now();
  try {
    const main = await buildGateway();
    process.stdout.write(`[portcullis build] ${relative(ROOT, main)} and its chunks in ${Math.round(performance.now() - started)} ms\n`);
  } catch (err) {
    process.stderr.write(`[portcullis build] failed: ${err.message}\n`);
    process.exitCode = 1;
  }
}
