// The README is a map and docs/ the reference: every relative link in them must land on a file of this repository
// (and a `#anchor` on a heading of that file), no page may carry a path of the machine it was written on, and the
// README stays short enough to be read as a map.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';

const ROOT = resolve(new URL('../../', import.meta.url).pathname);
const README_MAX_LINES = 260;

/** Paths that only exist on a particular machine: a checkout, a home, a test's temporary directory. */
const MACHINE_PATH = /(?:\/work\/(?:wt|main|shared)\/|\/root\/|\/tmp\/pcl-|\/Users\/\w|[A-Z]:\\Users\\)/;

export interface Problem { file: string; line: number; message: string }

/** GitHub's heading anchors: lower case, punctuation other than `-` and `_` dropped, spaces to `-`, repeats numbered. */
export function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const { text } of lines(markdown)) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(text);
    if (!m) continue;
    const base = m[1].replace(/`/g, '').toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

/** The lines outside fenced code blocks, with their numbers. */
function lines(markdown: string): Array<{ n: number; text: string }> {
  const out: Array<{ n: number; text: string }> = [];
  let fence = false;
  markdown.split('\n').forEach((text, i) => {
    if (/^\s*```/.test(text)) fence = !fence;
    else if (!fence) out.push({ n: i + 1, text });
  });
  return out;
}

/** Every problem of one Markdown file, `file` relative to `root`. */
export function checkMarkdown(root: string, file: string, markdown: string): Problem[] {
  const problems: Problem[] = [];
  const at = (line: number, message: string) => problems.push({ file, line, message });
  markdown.split('\n').forEach((text, i) => {
    const m = MACHINE_PATH.exec(text);
    if (m) at(i + 1, `a path of one machine: ${m[0]}…`);
  });
  for (const { n, text } of lines(markdown)) {
    const prose = text.replace(/`[^`]*`/g, '');
    for (const [, target] of prose.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:: outside the repository by design
      const [path, anchor] = target.split('#', 2);
      if (path === '') {
        if (!anchorsOf(markdown).has(anchor)) at(n, `link #${anchor}: ${file} has no heading #${anchor}`);
        continue;
      }
      const abs = resolve(dirname(join(root, file)), decodeURIComponent(path));
      const rel = relative(root, abs);
      if (rel.startsWith('..') || resolve(rel) === rel) {
        at(n, `link ${target} leaves the repository`);
        continue;
      }
      if (!existsSync(abs)) {
        at(n, `link ${target}: no file ${rel}`);
        continue;
      }
      if (anchor !== undefined && statSync(abs).isFile() && abs.endsWith('.md')) {
        if (!anchorsOf(readFileSync(abs, 'utf8')).has(anchor)) at(n, `link ${target}: ${rel} has no heading #${anchor}`);
      }
    }
  }
  return problems;
}

function markdownFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? markdownFiles(join(dir, d.name)) : d.name.endsWith('.md') ? [join(dir, d.name)] : []);
}

describe('README and docs/', () => {
  const files = [join(ROOT, 'README.md'), ...markdownFiles(join(ROOT, 'docs'))];

  it('every relative link resolves to a file of the repository, and every anchor to a heading; no machine paths', () => {
    const problems = files.flatMap((f) => checkMarkdown(ROOT, relative(ROOT, f), readFileSync(f, 'utf8')));
    assert.deepEqual(problems.map((p) => `${p.file}:${p.line}: ${p.message}`), []);
  });

  it(`the README is a map: at most ${README_MAX_LINES} lines, linking the table of contents`, () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const count = readme.trimEnd().split('\n').length;
    assert.ok(count <= README_MAX_LINES, `README.md has ${count} lines`);
    assert.match(readme, /\]\(docs\/README\.md\)/);
  });

  it('the table of contents links every page of docs/', () => {
    const toc = readFileSync(join(ROOT, 'docs/README.md'), 'utf8');
    const pages = readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md') && f !== 'README.md');
    for (const page of pages) assert.ok(toc.includes(`](${page})`), `docs/README.md does not link ${page}`);
  });

  it('the checker finds a missing file, a missing heading, a link out of the repository and a machine path', () => {
    const doc = [
      '# Title', '## Upstream calls: retries, TLS', '[a](docs/nothing.md) [b](#upstream-calls-retries-tls) [c](#nope)',
      '[d](../shared/ARCHITECTURE.md) [e](https://example.com/x) [f](docs/architecture.md)', 'run /work/wt/docs/x', '```', '[g](missing.md)', '```',
    ].join('\n');
    const problems = checkMarkdown(ROOT, 'README.md', doc).map((p) => `${p.line}: ${p.message}`);
    const expected = [
      '5: a path of one machine: /work/wt/…',
      '3: link docs/nothing.md: no file docs/nothing.md',
      '3: link #nope: README.md has no heading #nope',
      '4: link ../shared/ARCHITECTURE.md leaves the repository',
    ];
    if (existsSync(join(ROOT, 'docs/architecture.md'))) expected.length = 4; // present after the merge: still resolves
    assert.deepEqual(problems, expected);
  });

  it('anchors follow GitHub: punctuation dropped, repeated headings numbered', () => {
    assert.deepEqual([...anchorsOf('# A `b`: c (d, 2026-07-28)\n## A `b`: c (d, 2026-07-28)\n```\n# not a heading\n```')],
      ['a-b-c-d-2026-07-28', 'a-b-c-d-2026-07-28-1']);
  });
});
