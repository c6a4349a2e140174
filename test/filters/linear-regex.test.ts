import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileLinear, MAX_PROGRAM_SIZE, ScanTooExpensive, stepBudget, STEPS_PER_CHAR, UnsupportedPattern } from '../../core/regex/index.ts';

/** A small deterministic PRNG (mulberry32), so a failure reproduces. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Every non-empty match, as JavaScript's own engine finds them with the `g` flag. */
function jsMatches(pattern: string, text: string): string[] {
  const re = new RegExp(pattern, 'g');
  const out: string[] = [];
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m[0] === '') re.lastIndex++;
    else out.push(`${m.index}:${m[0]}`);
  }
  return out;
}

function linearMatches(pattern: string, text: string): string[] {
  const re = compileLinear(pattern);
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

describe('the linear-time regular-expression engine', () => {
  it('finds the same matches as JavaScript (leftmost, first alternative, greedy and lazy) on random texts', () => {
    const patterns = [
      'ab|a', 'a+?b', '(a|ab)(c|bcd)', '^abc$', '\\bfoo\\b', 'x{2,3}', '[^a-c]+', '(?:ab)*c', 'a.c', '[\\d-]+',
      '(?<![\\d-])\\d{3}(?![\\d-])', '\\.\\./', '^/etc/', '[Dd][Rr][Oo][Pp] [Tt][Aa][Bb][Ll][Ee]', '(a*)*b', '(a|a)*c',
      'a{0,2}?b', '\\w+@\\w+\\.com', '(x+x+)+y', '\\s+', '(?<n>q)r', '\\x41\\u0042', '[a-]', '[\\w-z]+', '\\B.\\B',
      'colou?r', '\\d{1,3}(?:,\\d{3})*', 'a{2,}', '[^]', 'b{', '\\cJ', '[\\b]',
      // non-ASCII classes, and a pattern whose DFA has thousands of states (the DFA gives up, the VM answers)
      '\\s+\\S', '[^a]\\W.', 'é+|\\u2028', '(a|b)*a(a|b){9}', '[\\u00e0-\\u00ff]{2}',
      // an optional iteration that matches nothing fails, as ECMA-262 says (found by linear-regex-fuzz.test.ts)
      '(?:\\d?|a)?', '(?:a?|b)*c', '(?:|x){0,2}y', '(a*?|b)+?c', '(?:(?:a|)\\b)*',
    ];
    const alphabet = 'abcdfoxyqr-./ 0123@ABCDROPTBLE,\n\béà\u00a0\u2028\u3000ÿ';
    const random = prng(16);
    let cases = 0;
    for (const pattern of patterns) {
      for (let k = 0; k < 400; k++) {
        let text = '';
        const length = Math.floor(random() * 40);
        for (let i = 0; i < length; i++) text += alphabet[Math.floor(random() * alphabet.length)];
        assert.deepEqual(linearMatches(pattern, text), jsMatches(pattern, text), `${JSON.stringify(pattern)} on ${JSON.stringify(text)}`);
        assert.equal(compileLinear(pattern).test(text), new RegExp(pattern).test(text));
        cases++;
      }
    }
    assert.equal(cases, patterns.length * 400);
  });

  it('refuses what needs backtracking, saying why', () => {
    const refused = (pattern: string) => {
      try {
        compileLinear(pattern);
      } catch (err) {
        assert.ok(err instanceof UnsupportedPattern);
        return (err as Error).message;
      }
      assert.fail(`accepted ${pattern}`);
    };
    assert.equal(refused('(a)\\1'), 'regular expression "(a)\\\\1" cannot run in linear time: backreferences (\\1) are not supported');
    assert.equal(refused('(?<x>a)\\k<x>'), 'regular expression "(?<x>a)\\\\k<x>" cannot run in linear time: named backreferences (\\k<name>) are not supported');
    assert.equal(refused('(?!000|666)\\d'), 'regular expression "(?!000|666)\\\\d" cannot run in linear time: a lookahead or lookbehind may only test one character, as in (?![0-9])');
    assert.equal(refused('(?i:a)'), 'regular expression "(?i:a)" cannot run in linear time: inline modifiers such as (?i:...) are not supported');
    assert.equal(refused('('), 'invalid regular expression "(": Invalid regular expression: /(/: Unterminated group');
    assert.equal(
      refused('(?:a{1,1000}){3}'),
      `regular expression "(?:a{1,1000}){3}" cannot run in linear time: too large for the linear engine: more than ${MAX_PROGRAM_SIZE} steps once counted repetitions such as {2,50} are expanded`,
    );
  });

  it('runs patterns that make backtracking engines explode in bounded time on 1 MiB', () => {
    const text = `${'a'.repeat(1024 * 1024)}!`;
    for (const pattern of ['(a+)+$', '^(a|a)*$', '(a|aa)*b', '(.*a){12}$', '([a-z]+)*[0-9]']) {
      const started = performance.now();
      assert.equal(compileLinear(pattern).test(text), false);
      const ms = performance.now() - started;
      assert.ok(ms < 20_000, `${pattern}: ${ms} ms`);
    }
  });

  it('stops a search past its step budget instead of running long', () => {
    const re = compileLinear('a{1,100}b');
    const text = `${'a'.repeat(100_000)}b`;
    assert.throws(() => re.search(text, 0, stepBudget(text.length)), (err: unknown) => {
      assert.ok(err instanceof ScanTooExpensive);
      assert.equal((err as Error).message, `pattern "a{1,100}b" needs more than ${STEPS_PER_CHAR} steps per character on this text`);
      return true;
    });
    assert.deepEqual(re.search('xaaab', 0, stepBudget(5)), [1, 5, 5], 'short texts are within budget');
    // Whether a match exists is answered by the DFA, one lookup per character, whatever the pattern.
    assert.equal(re.test('a'.repeat(1_000_000)), false);
    assert.equal(re.test(text), true);
  });

  it('answers right when the DFA would need more states than it keeps (it hands over to the VM)', () => {
    const random = prng(7);
    let text = '';
    for (let i = 0; i < 50_000; i++) text += random() < 0.5 ? 'a' : 'b';
    const re = compileLinear('(a|b)*a(a|b){12}c');
    assert.equal(re.test(text), false);
    assert.equal(re.test(`${text}a${'b'.repeat(12)}c`), true, "an 'a' 13 characters before the c");
    assert.equal(re.test(`${text}${'b'.repeat(13)}c`), false, "a 'b' 13 characters before the c");
    assert.deepEqual(re.search(`${text}a${'b'.repeat(12)}c`, 0, Infinity), [0, text.length + 14, text.length + 14]);
  });
});
