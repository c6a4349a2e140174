// Prints the last interop run (.tools/interop/results.json, written by matrix.interop.ts) as the README's Markdown
// table: one row per pair, one column per feature. Usage: node test/interop/report.ts
import { existsSync, readFileSync } from 'node:fs';
import { LIMITS, type Row } from './matrix.ts';
import { buildStatus, FEATURES, PEERS, TOOLS, type Feature } from './peers.ts';

const file = `${TOOLS}/results.json`;
if (!existsSync(file)) {
  process.stderr.write(`no ${file}: run "npm run test:interop" first\n`);
  process.exit(1);
}
const results = JSON.parse(readFileSync(file, 'utf8')) as Array<{ row: Row; name: string; features: Record<Feature, string> }>;
const status = buildStatus();
const cell = (v: string) => (v === 'pass' ? '✔' : v.startsWith('SDK limit') ? 'SDK' : '✖');
const lines = [
  '| SDK | version | built here |',
  '|---|---|---|',
  ...PEERS.map((p) => `| \`${p.id}\` (${p.sdk}) | ${status[p.id]?.version ?? '?'} | ${status[p.id]?.status === 'failed' ? `no: ${status[p.id]?.reason}` : 'yes'} |`),
  '',
  `| pair | ${FEATURES.join(' | ')} |`,
  `|---|${FEATURES.map(() => ':-:').join('|')}|`,
];
const order = (r: Row) => `${r.group}|${r.server}|${r.client}|${r.serverTransport}|${r.clientTransport}|${r.via === 'direct' ? 0 : 1}`;
for (const r of [...results].sort((a, b) => order(a.row).localeCompare(order(b.row)))) {
  lines.push(`| ${r.name.replace(/\|/g, '\\|')} | ${FEATURES.map((f) => cell(r.features[f])).join(' | ')} |`);
}
lines.push('', ...LIMITS.map((l) => `- ${Object.entries(l.where).map(([k, v]) => `${k} \`${v}\``).join(', ')}, ${l.feature}: ${l.reason}.`));
const failures = results.flatMap((r) => FEATURES.filter((f) => r.features[f].startsWith('FAIL')).map((f) => `- ${r.name}, ${f}: ${r.features[f].slice(6)}`));
if (failures.length) lines.push('', 'Failures:', ...failures);
process.stdout.write(`${lines.join('\n')}\n`);
