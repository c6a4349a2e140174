// `npm run bench`: runs every bench/*.bench.ts (or those named on the command line) and prints their sections.
import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { formatSection, type BenchSection } from './report.ts';

const dir = fileURLToPath(new URL('.', import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)))
  .sort();

console.log(`# Portcullis bench — ${new Date().toISOString()} — Node ${process.version}, ${(await import('node:os')).cpus().length} cores`);
let failed = 0;
for (const f of files) {
  const mod = (await import(pathToFileURL(join(dir, f)).href)) as { bench: () => Promise<BenchSection> };
  try {
    console.log(formatSection(await mod.bench()));
  } catch (err) {
    failed++;
    console.log(`\n## ${f}: failed\n${(err as Error).stack}`);
  }
}
process.exit(failed > 0 ? 1 : 0);
