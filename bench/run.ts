// `npm run bench`: the outside bench (bench/outside.bench.ts, a few minutes), or the bench files named on the
// command line (prefixes: `npm run bench -- http perf`), or every bench/*.bench.ts with `all`.
// `--quick`: one round of 2 s slices (about a minute for the outside bench), for a first look.
import { readdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { formatSection, type BenchSection } from './report.ts';

const dir = fileURLToPath(new URL('.', import.meta.url));
const args = process.argv.slice(2);
if (args.includes('--quick')) process.env.BENCH_QUICK = '1';
const named = args.filter((a) => !a.startsWith('--'));
const only = named.length === 0 ? ['outside'] : named.includes('all') ? [] : named;
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)))
  .sort();

console.log(`# Portcullis bench — ${new Date().toISOString()} — Node ${process.version}, ${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
let failed = 0;
for (const f of files) {
  const mod = (await import(pathToFileURL(join(dir, f)).href)) as { bench: () => Promise<BenchSection | BenchSection[]> };
  try {
    const out = await mod.bench();
    for (const s of Array.isArray(out) ? out : [out]) console.log(formatSection(s));
  } catch (err) {
    failed++;
    console.log(`\n## ${f}: failed\n${(err as Error).stack}`);
  }
}
process.exit(failed > 0 ? 1 : 0);
