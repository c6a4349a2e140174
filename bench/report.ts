/** One part of the bench output: a table of figures measured in one run, and notes on how to read them. */
export interface BenchSection {
  title: string;
  rows: Array<Record<string, string | number>>;
  notes?: string[];
}

export function formatSection(section: BenchSection): string {
  const lines = [`\n## ${section.title}\n`];
  if (section.rows.length > 0) {
    const cols = [...new Set(section.rows.flatMap((r) => Object.keys(r)))];
    const cell = (v: unknown) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(3)) : String(v ?? ''));
    const widths = cols.map((c) => Math.max(c.length, ...section.rows.map((r) => cell(r[c]).length)));
    lines.push(cols.map((c, i) => c.padEnd(widths[i])).join(' | '));
    lines.push(widths.map((w) => '-'.repeat(w)).join('-|-'));
    for (const r of section.rows) lines.push(cols.map((c, i) => cell(r[c]).padEnd(widths[i])).join(' | '));
  }
  for (const n of section.notes ?? []) lines.push(`- ${n}`);
  return lines.join('\n');
}

/** Percentile of a sorted or unsorted list of numbers. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx];
}
