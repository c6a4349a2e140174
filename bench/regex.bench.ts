// The regular-expression engine of the ready-made filters (piiRedaction, toolArgumentRules): core/regex (our own
// linear-time engine: a lazily built DFA says whether a text has a match, a Pike VM finds it) against re2js (a
// JavaScript port of RE2, linear-time too), with JavaScript's backtracking RegExp as the reference where it
// finishes. Two questions, answered in one run: which patterns each engine accepts (the built-in PII kinds, the
// argument rules of the examples and tests, the tool-name globs), and how fast each scans the workloads those
// policies meet: ordinary 1 KiB bodies and arguments, and 64 KiB texts built to make a backtracking engine crawl.
// Rounds are interleaved so that outside load hits every engine alike.
import { RE2JS } from 're2js';
import { compileLinear, type LinearRegex } from '../core/regex/index.ts';
import { BUILTIN } from '../core/pii/patterns.ts';
import { percentile, type BenchSection } from './report.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 30);

/** The patterns the two policies run: the built-in PII kinds, deny rules, and the glob `*` a tool rule compiles to. */
export const WORKLOAD_PATTERNS: Array<{ name: string; source: string }> = [
  ...Object.values(BUILTIN).map((p) => ({ name: `pii ${p.name}`, source: p.regex.source })),
  { name: 'deny ../', source: '(?:^|/)\\.\\./' },
  { name: 'deny DROP TABLE', source: '[Dd][Rr][Oo][Pp] [Tt][Aa][Bb][Ll][Ee]' },
  { name: 'deny (a+)+$', source: '(a+)+$' },
  { name: 'deny ^(\\w+\\s?)*;$', source: '^(\\w+\\s?)*;$' },
  { name: 'custom ORD-\\d+', source: 'ORD-\\d+' },
  { name: 'tool glob "read_*"', source: '^read_[^]*$' },
];

/** Other JavaScript syntax users write, from the engine's own tests: escapes RE2 spells differently or lacks. */
const SYNTAX_PATTERNS = ['\\x41\\u0042', '[\\u00e0-\\u00ff]{2}', '\\cJ', '[\\b]', '[^]', '(?<![\\d-])\\d{3}(?![\\d-])', '(?<n>q)r', 'a{0,2}?b'];

interface Engine {
  name: string;
  /** Every non-empty match, leftmost first, as [start, end] pairs; null when the engine refused the pattern. */
  compile(source: string): ((text: string) => number) | null;
}

const core: Engine = {
  name: 'core/regex',
  compile(source) {
    let re: LinearRegex;
    try {
      re = compileLinear(source);
    } catch {
      return null;
    }
    return (text) => {
      let n = 0;
      for (let from = 0; from < text.length; ) {
        const m = re.search(text, from);
        if (!m) break;
        if (m[1] > m[0]) n++;
        from = m[1] > m[0] ? m[1] : m[0] + 1;
      }
      return n;
    };
  },
};

const re2js: Engine = {
  name: 're2js',
  compile(source) {
    let re: RE2JS;
    try {
      re = RE2JS.compile(source, RE2JS.LOOKBEHINDS);
    } catch {
      return null;
    }
    return (text) => {
      const m = re.matcher(text);
      let n = 0;
      while (m.find()) if (m.end() > m.start()) n++;
      return n;
    };
  },
};

const native: Engine = {
  name: 'RegExp (backtracking)',
  compile(source) {
    let re: RegExp;
    try {
      re = new RegExp(source, 'g');
    } catch {
      return null;
    }
    return (text) => {
      re.lastIndex = 0;
      let n = 0;
      for (let m = re.exec(text); m; m = re.exec(text)) {
        if (m[0] === '') re.lastIndex++;
        else n++;
      }
      return n;
    };
  },
};

/** What a typical 1 KiB JSON body or tool-call argument text holds: a few PII items among ordinary words. */
function ordinary(): string {
  const rows = [];
  for (let i = 0; rows.join(',').length < 1000; i++) {
    rows.push(`{"id":${1000 + i},"name":"customer ${i}","note":"called about order ORD-${4000 + i}, all good"}`);
  }
  rows.push('{"email":"jane.doe@example.com","phone":"+44 20 7946 0958","card":"4111 1111 1111 1111","ssn":"123-45-6789","path":"../etc/passwd"}');
  return `[${rows.join(',')}]`;
}

/** 64 KiB texts that make backtracking patterns crawl (each defeated an earlier pattern of the PII filter). */
const HOSTILE: Record<string, string> = {
  'a × 64 Ki': 'a'.repeat(65_536),
  'a@ × 32 Ki': 'a@'.repeat(32_768),
  'digits × 64 Ki': '1'.repeat(65_536),
  'a. × 32 Ki': 'a.'.repeat(32_768),
  'words, no ; (64 KiB)': 'word '.repeat(13_107),
};

function median(values: number[]): number {
  return percentile(values, 50);
}

export async function bench(): Promise<BenchSection> {
  const engines = [core, re2js, native];
  const rows: Array<Record<string, string | number>> = [];
  const accepts = (e: Engine, s: string) => e.compile(s) !== null;

  // Which patterns each engine takes.
  const refusedByRe2 = [...WORKLOAD_PATTERNS.map((p) => p.source), ...SYNTAX_PATTERNS].filter((s) => !accepts(re2js, s));
  const refusedByCore = [...WORKLOAD_PATTERNS.map((p) => p.source), ...SYNTAX_PATTERNS].filter((s) => !accepts(core, s));

  const texts: Record<string, string> = { 'ordinary 1 KiB JSON': ordinary(), ...HOSTILE };
  for (const p of WORKLOAD_PATTERNS) {
    const scans = engines.map((e) => e.compile(p.source));
    for (const [textName, text] of Object.entries(texts)) {
      const hostile = textName !== 'ordinary 1 KiB JSON';
      const times: number[][] = engines.map(() => []);
      const counts: Array<number | string> = engines.map(() => '');
      for (let r = 0; r < ROUNDS; r++) {
        engines.forEach((e, i) => {
          const scan = scans[i];
          if (!scan) return;
          // Backtracking on a hostile text can take minutes: the reference runs on the ordinary text only.
          if (e === native && hostile) return;
          const t0 = process.hrtime.bigint();
          counts[i] = scan(text);
          times[i].push(Number(process.hrtime.bigint() - t0) / 1e3);
        });
      }
      const cell = (i: number) => (scans[i] === null ? 'refused' : times[i].length === 0 ? 'not run' : median(times[i]));
      rows.push({
        pattern: p.name,
        text: textName,
        'core/regex µs': cell(0),
        're2js µs': cell(1),
        'RegExp µs': cell(2),
        matches: counts.filter((c) => c !== '').join(' / '),
      });
    }
  }
  return {
    title: `Regex engines on the PII and argument-rule workloads (median of ${ROUNDS} interleaved rounds, all matches found)`,
    rows,
    notes: [
      `re2js (${RE2JS.name}, LOOKBEHINDS on) refuses: ${refusedByRe2.map((s) => JSON.stringify(s)).join(', ') || 'nothing'}`,
      `core/regex refuses: ${refusedByCore.map((s) => JSON.stringify(s)).join(', ') || 'nothing'}`,
      '"matches" is each engine\'s count, in column order; they must agree where both ran.',
      'RegExp is not run on the hostile texts: the old PII email pattern alone took 30 s on 80 KB of "a".',
    ],
  };
}
