// Differential fuzzing of core/regex against JavaScript's own RegExp: fast-check generates patterns from the
// JavaScript syntax both engines accept (literals, escapes, classes, anchors, word boundaries, groups, alternation,
// greedy and lazy quantifiers, one-character lookarounds) and texts over a small alphabet that makes them match
// often; every pattern the linear engine compiles must find exactly the matches RegExp finds (leftmost, first
// alternative preferred, same span) and answer `test` alike. The hand-picked differential cases are in
// linear-regex.test.ts; this one looks where nobody thought to.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { compileLinear, UnsupportedPattern, type LinearRegex } from '../../core/regex/index.ts';

/** Every non-empty match as `start:text`, as RegExp finds them with the `g` flag. */
function jsMatches(re: RegExp, text: string): string[] {
  re.lastIndex = 0;
  const out: string[] = [];
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m[0] === '') re.lastIndex++;
    else out.push(`${m.index}:${m[0]}`);
  }
  return out;
}

/** The same walk with the linear engine: search on from the end of a match, or one past an empty one. */
function linearMatches(re: LinearRegex, text: string): string[] {
  const out: string[] = [];
  for (let from = 0; from <= text.length; ) {
    const m = re.search(text, from);
    if (!m) break;
    if (m[1] === m[0]) from = m[0] + 1;
    else {
      out.push(`${m[0]}:${text.slice(m[0], m[1])}`);
      from = m[1];
    }
  }
  return out;
}

const ALPHABET = ['a', 'b', 'c', '-', '.', '@', ' ', '0', '1', '_', '\n', 'é', '\u00a0'];

const atom = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('a', 'b', 'c', '-', '@', ' ', '0', 'é') },
  { weight: 3, arbitrary: fc.constantFrom('\\d', '\\D', '\\w', '\\W', '\\s', '\\S', '\\.', '.', '\\-', '\\u00e9', '\\x61') },
  { weight: 3, arbitrary: fc.constantFrom('[ab]', '[^a]', '[a-c]', '[\\d-]', '[^\\w]', '[.@]', '[0-1_]', '[^]', '[\\s\\S]') },
  { weight: 1, arbitrary: fc.constantFrom('^', '$', '\\b', '\\B') },
  { weight: 1, arbitrary: fc.constantFrom('(?![0-9])', '(?<!a)', '(?=b)', '(?<=[ab])', '(?!\\w)', '(?<![\\d-])') },
);

const quantifier = fc.constantFrom('', '', '', '*', '+', '?', '{2}', '{1,3}', '{0,2}', '{2,}', '*?', '+?', '??', '{1,2}?');
/** On groups: fewer unbounded repeats, which on nested groups make RegExp (the reference) backtrack for long. */
const groupQuantifier = fc.constantFrom('', '', '', '?', '*', '{0,2}', '{1,2}?', '??', '+?');

/** Patterns as a tree: concatenations of quantified atoms and groups, alternations inside groups. */
const pattern: fc.Arbitrary<string> = fc.letrec<{ seq: string; group: string; piece: string }>((tie) => ({
  piece: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.tuple(atom, quantifier).map(([a, q]) => (/^[\^$]|^\\[bB]$|^\(\?/.test(a) ? a : a + q)),
    fc.tuple(tie('group'), groupQuantifier).map(([g, q]) => g + q),
  ),
  seq: fc.array(tie('piece'), { minLength: 1, maxLength: 4 }).map((p) => p.join('')),
  group: fc
    .tuple(fc.constantFrom('(?:', '(', '(?<n>'), fc.array(tie('seq'), { minLength: 1, maxLength: 3 }))
    .map(([open, alts]) => `${open}${alts.join('|')})`),
})).seq.filter((s) => (s.match(/\(\?<n>/g) ?? []).length <= 1);

const text = fc.array(fc.constantFrom(...ALPHABET), { maxLength: 10 }).map((c) => c.join(''));

describe('core/regex against RegExp, on generated patterns (fast-check)', () => {
  it('finds the same matches and answers test() alike on every pattern it accepts', () => {
    let compared = 0;
    fc.assert(
      fc.property(pattern, fc.array(text, { minLength: 1, maxLength: 6 }), (source, texts) => {
        const js = new RegExp(source, 'g');
        let linear: LinearRegex;
        try {
          linear = compileLinear(source);
        } catch (err) {
          // Only what needs backtracking, or an oversized program, may be refused; both are named errors.
          assert.ok(err instanceof UnsupportedPattern, `${source}: ${(err as Error).message}`);
          return;
        }
        for (const t of texts) {
          const expected = jsMatches(js, t);
          const got = linearMatches(linear, t);
          assert.deepEqual(got, expected, `${JSON.stringify(source)} on ${JSON.stringify(t)}`);
          assert.equal(linear.test(t), new RegExp(source).test(t), `test(): ${JSON.stringify(source)} on ${JSON.stringify(t)}`);
        }
        compared++;
      }),
      { numRuns: 1500, seed: Number(process.env.FC_SEED ?? 24) },
    );
    // The generator must mostly produce patterns the engine takes, or the property would pass on nothing.
    assert.ok(compared > 1000, `only ${compared} of 1500 generated patterns were compared`);
  });
});
