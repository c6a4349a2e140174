/** Parser and compiler of the linear-time engine: JavaScript pattern syntax into a Pike-VM program. */

/** Instructions of an expanded pattern, at most: bounds the per-character cost of a search. */
export const MAX_PROGRAM_SIZE = 2000;

/** Why a pattern cannot run in linear time (or is not a valid pattern at all). */
export class UnsupportedPattern extends Error {}

// ---------------------------------------------------------------------------------------------------------------
// Character sets: sorted, merged [lo, hi] ranges of UTF-16 code units, with an ASCII lookup table for speed.

export type Ranges = number[]; // flat [lo0, hi0, lo1, hi1, ...]

function normalize(r: Ranges): Ranges {
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i < r.length; i += 2) pairs.push([r[i], r[i + 1]]);
  pairs.sort((a, b) => a[0] - b[0]);
  const out: Ranges = [];
  for (const [lo, hi] of pairs) {
    const last = out.length - 1;
    if (last > 0 && lo <= out[last] + 1) out[last] = Math.max(out[last], hi);
    else out.push(lo, hi);
  }
  return out;
}

function complement(r: Ranges): Ranges {
  const n = normalize(r);
  const out: Ranges = [];
  let next = 0;
  for (let i = 0; i < n.length; i += 2) {
    if (n[i] > next) out.push(next, n[i] - 1);
    next = n[i + 1] + 1;
  }
  if (next <= 0xffff) out.push(next, 0xffff);
  return out;
}

const DIGIT: Ranges = [0x30, 0x39];
const WORD: Ranges = [0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a];
const SPACE: Ranges = normalize([9, 13, 32, 32, 0xa0, 0xa0, 0x1680, 0x1680, 0x2000, 0x200a, 0x2028, 0x2029, 0x202f, 0x202f, 0x205f, 0x205f, 0x3000, 0x3000, 0xfeff, 0xfeff]);
const LINE_TERMINATORS: Ranges = [0x0a, 0x0a, 0x0d, 0x0d, 0x2028, 0x2029];

export class CharSet {
  private readonly ascii = new Uint8Array(128);
  private readonly high: Ranges;
  constructor(ranges: Ranges) {
    const r = normalize(ranges);
    const high: Ranges = [];
    for (let i = 0; i < r.length; i += 2) {
      for (let c = r[i]; c <= Math.min(r[i + 1], 127); c++) this.ascii[c] = 1;
      if (r[i + 1] >= 128) high.push(Math.max(r[i], 128), r[i + 1]);
    }
    this.high = high;
  }
  has(c: number): boolean {
    if (c < 128) return this.ascii[c] === 1;
    const h = this.high;
    for (let i = 0; i < h.length; i += 2) {
      if (c < h[i]) return false;
      if (c <= h[i + 1]) return true;
    }
    return false;
  }
}

export const WORD_SET = new CharSet(WORD);
const isWordAt = (text: string, i: number) => i >= 0 && i < text.length && WORD_SET.has(text.charCodeAt(i));

// ---------------------------------------------------------------------------------------------------------------
// Parser: JavaScript regular-expression syntax without flags (Annex B forms included), into a small tree.

type Node =
  | { t: 'set'; ranges: Ranges }
  | { t: 'cat'; items: Node[] }
  | { t: 'alt'; items: Node[] }
  | { t: 'rep'; node: Node; min: number; max: number; greedy: boolean }
  | { t: 'assert'; kind: 'start' | 'end' | 'word' | 'notWord' }
  | { t: 'look'; ahead: boolean; negate: boolean; ranges: Ranges };

const CLASS_ESCAPES: Record<string, Ranges> = { d: DIGIT, D: complement(DIGIT), w: WORD, W: complement(WORD), s: SPACE, S: complement(SPACE) };
const CONTROL_ESCAPES: Record<string, number> = { t: 9, n: 10, v: 11, f: 12, r: 13 };

export class Parser {
  private i = 0;
  private readonly src: string;
  constructor(src: string) {
    this.src = src;
  }

  parse(): Node {
    const node = this.alternation();
    if (this.i < this.src.length) throw new UnsupportedPattern(`unexpected "${this.src[this.i]}" at ${this.i}`);
    return node;
  }

  private peek(): string | undefined {
    return this.src[this.i];
  }

  private alternation(): Node {
    const items = [this.sequence()];
    while (this.peek() === '|') {
      this.i++;
      items.push(this.sequence());
    }
    return items.length === 1 ? items[0] : { t: 'alt', items };
  }

  private sequence(): Node {
    const items: Node[] = [];
    while (this.i < this.src.length && this.peek() !== '|' && this.peek() !== ')') {
      const atom = this.atom();
      items.push(this.quantified(atom));
    }
    return { t: 'cat', items };
  }

  private quantified(atom: Node): Node {
    let q = this.quantifier();
    while (q) {
      if (atom.t === 'assert' || atom.t === 'look') throw new UnsupportedPattern('a quantified assertion is not supported');
      let greedy = true;
      if (this.peek() === '?') {
        this.i++;
        greedy = false;
      }
      atom = { t: 'rep', node: atom, min: q.min, max: q.max, greedy };
      q = this.quantifier();
    }
    return atom;
  }

  private quantifier(): { min: number; max: number } | undefined {
    const c = this.peek();
    if (c === '*') return this.i++, { min: 0, max: Infinity };
    if (c === '+') return this.i++, { min: 1, max: Infinity };
    if (c === '?') return this.i++, { min: 0, max: 1 };
    if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.i));
      if (!m) return undefined; // Annex B: a "{" that starts no quantifier is a literal
      this.i += m[0].length;
      const min = Number(m[1]);
      const max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
      return { min, max };
    }
    return undefined;
  }

  private atom(): Node {
    const c = this.src[this.i++];
    switch (c) {
      case '^':
        return { t: 'assert', kind: 'start' };
      case '$':
        return { t: 'assert', kind: 'end' };
      case '.':
        return { t: 'set', ranges: complement(LINE_TERMINATORS) };
      case '[':
        return { t: 'set', ranges: this.charClass() };
      case '(':
        return this.group();
      case '\\':
        return this.escape();
      default:
        return { t: 'set', ranges: [c.charCodeAt(0), c.charCodeAt(0)] };
    }
  }

  private group(): Node {
    let look: { ahead: boolean; negate: boolean } | undefined;
    if (this.src.startsWith('?:', this.i)) this.i += 2;
    else if (this.src.startsWith('?=', this.i) || this.src.startsWith('?!', this.i)) {
      look = { ahead: true, negate: this.src[this.i + 1] === '!' };
      this.i += 2;
    } else if (this.src.startsWith('?<=', this.i) || this.src.startsWith('?<!', this.i)) {
      look = { ahead: false, negate: this.src[this.i + 2] === '!' };
      this.i += 3;
    } else if (this.src.startsWith('?<', this.i)) {
      const end = this.src.indexOf('>', this.i);
      this.i = end + 1; // a named group matches like any group; names are not used
    } else if (this.peek() === '?') throw new UnsupportedPattern('inline modifiers such as (?i:...) are not supported');
    const body = this.alternation();
    if (this.src[this.i++] !== ')') throw new UnsupportedPattern('unterminated group');
    if (!look) return body;
    const single = body.t === 'cat' && body.items.length === 1 ? body.items[0] : body;
    if (single.t !== 'set') throw new UnsupportedPattern('a lookahead or lookbehind may only test one character, as in (?![0-9])');
    return { t: 'look', ...look, ranges: single.ranges };
  }

  /** An escape outside a class. */
  private escape(): Node {
    const c = this.src[this.i];
    if (c === 'b') return this.i++, { t: 'assert', kind: 'word' };
    if (c === 'B') return this.i++, { t: 'assert', kind: 'notWord' };
    if (c !== undefined && c >= '1' && c <= '9') throw new UnsupportedPattern(`backreferences (\\${c}) are not supported`);
    if (c === 'k' && this.src[this.i + 1] === '<') throw new UnsupportedPattern('named backreferences (\\k<name>) are not supported');
    return { t: 'set', ranges: this.escapeRanges(false) };
  }

  /** The code units of the escape at `i` (after the backslash); inside a class `\b` is a backspace. */
  private escapeRanges(inClass: boolean): Ranges {
    const c = this.src[this.i++];
    if (c === undefined) throw new UnsupportedPattern('a pattern may not end with "\\"');
    if (CLASS_ESCAPES[c]) return CLASS_ESCAPES[c];
    if (CONTROL_ESCAPES[c] !== undefined) return [CONTROL_ESCAPES[c], CONTROL_ESCAPES[c]];
    if (c === 'b' && inClass) return [8, 8];
    if (c === '0' && !/[0-9]/.test(this.src[this.i] ?? '')) return [0, 0];
    if (c >= '0' && c <= '9') throw new UnsupportedPattern(`octal escapes (\\${c}) are not supported`);
    if (c === 'c' && /[A-Za-z]/.test(this.src[this.i] ?? '')) {
      const code = this.src.charCodeAt(this.i++) % 32;
      return [code, code];
    }
    const hex = c === 'x' ? /^[0-9A-Fa-f]{2}/.exec(this.src.slice(this.i)) : c === 'u' ? /^[0-9A-Fa-f]{4}/.exec(this.src.slice(this.i)) : null;
    if (hex) {
      this.i += hex[0].length;
      const code = parseInt(hex[0], 16);
      return [code, code];
    }
    return [c.charCodeAt(0), c.charCodeAt(0)]; // identity escape
  }

  private charClass(): Ranges {
    const negate = this.peek() === '^';
    if (negate) this.i++;
    const ranges: Ranges = [];
    // One class atom: a single code unit (number) or a class escape such as \d (ranges).
    const classAtom = (): number | Ranges => {
      const c = this.src[this.i++];
      if (c === undefined) throw new UnsupportedPattern('unterminated character class');
      if (c !== '\\') return c.charCodeAt(0);
      const esc = this.src[this.i];
      const r = this.escapeRanges(true);
      return CLASS_ESCAPES[esc] ? r : r[0];
    };
    while (this.peek() !== ']') {
      if (this.i >= this.src.length) throw new UnsupportedPattern('unterminated character class');
      const from = classAtom();
      if (this.peek() === '-' && this.src[this.i + 1] !== ']' && this.i + 1 < this.src.length) {
        this.i++;
        const to = classAtom();
        if (typeof from === 'number' && typeof to === 'number') {
          ranges.push(from, to);
          continue;
        }
        // Annex B: a class escape at either end makes the "-" a literal.
        for (const x of [from, to]) typeof x === 'number' ? ranges.push(x, x) : ranges.push(...x);
        ranges.push(0x2d, 0x2d);
        continue;
      }
      typeof from === 'number' ? ranges.push(from, from) : ranges.push(...from);
    }
    this.i++;
    return negate ? complement(ranges) : normalize(ranges);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Compiler: the tree becomes a program for the Pike VM.

/**
 * `Enter` and `Progress` (x: the iteration's nesting depth, from 1) frame an optional iteration whose body can match
 * the empty string: JavaScript fails such an iteration when it consumed nothing (ECMA-262 RepeatMatcher: "if min is
 * zero and y's endIndex = x's endIndex, return failure"), so `(?:\d?|a)?` on "a" takes the `a`. A thread notes the
 * outermost depth it entered since it last consumed a code unit; `Progress` at a depth at or below that note ends it.
 */
export const Op = { Char: 0, Split: 1, Jmp: 2, Assert: 3, Look: 4, Match: 5, Enter: 6, Progress: 7 } as const;
export type Op = (typeof Op)[keyof typeof Op];

export interface Program {
  op: Uint8Array;
  x: Int32Array; // Char, Look: set index; Split, Jmp: first target; Assert: kind; Enter, Progress: depth
  y: Int32Array; // Split: second target; Look: ahead (1) / behind (0) and negate (2)
  /** The deepest nesting of Enter/Progress frames (0 when the program has none). */
  maxDepth: number;
  sets: CharSet[];
  /** The ranges each set was built from (for the first-character prefilter). */
  setRanges: Ranges[];
}

export const ASSERT_KINDS = { start: 0, end: 1, word: 2, notWord: 3 } as const;

/** Whether a node can match the empty string (then its optional iterations need the progress check). */
function nullable(n: Node): boolean {
  switch (n.t) {
    case 'set':
      return false;
    case 'cat':
      return n.items.every(nullable);
    case 'alt':
      return n.items.some(nullable);
    case 'rep':
      return n.min === 0 || nullable(n.node);
    default:
      return true;
  }
}

export function compile(root: Node): Program {
  let depth = 0;
  let maxDepth = 0;
  const op: number[] = [];
  const x: number[] = [];
  const y: number[] = [];
  const sets: CharSet[] = [];
  const setRanges: Ranges[] = [];
  const emit = (o: Op, a = 0, b = 0) => {
    op.push(o);
    x.push(a);
    y.push(b);
    if (op.length > MAX_PROGRAM_SIZE) {
      throw new UnsupportedPattern(`too large for the linear engine: more than ${MAX_PROGRAM_SIZE} steps once counted repetitions such as {2,50} are expanded`);
    }
    return op.length - 1;
  };
  const walk = (n: Node): void => {
    switch (n.t) {
      case 'set':
        sets.push(new CharSet(n.ranges));
        setRanges.push(n.ranges);
        emit(Op.Char, sets.length - 1);
        return;
      case 'cat':
        for (const item of n.items) walk(item);
        return;
      case 'alt': {
        const jumps: number[] = [];
        n.items.forEach((item, k) => {
          if (k < n.items.length - 1) {
            const split = emit(Op.Split);
            x[split] = split + 1;
            walk(item);
            jumps.push(emit(Op.Jmp));
            y[split] = op.length;
          } else walk(item);
        });
        for (const j of jumps) x[j] = op.length;
        return;
      }
      case 'assert':
        emit(Op.Assert, ASSERT_KINDS[n.kind]);
        return;
      case 'look':
        sets.push(new CharSet(n.ranges));
        setRanges.push(n.ranges);
        emit(Op.Look, sets.length - 1, (n.ahead ? 1 : 0) | (n.negate ? 2 : 0));
        return;
      case 'rep': {
        for (let k = 0; k < n.min; k++) walk(n.node);
        // An optional iteration; framed by the progress check when its body can match the empty string.
        const check = nullable(n.node);
        const iteration = () => {
          if (!check) return walk(n.node);
          maxDepth = Math.max(maxDepth, ++depth);
          emit(Op.Enter, depth);
          walk(n.node);
          emit(Op.Progress, depth);
          depth--;
        };
        if (n.max === Infinity) {
          const split = emit(Op.Split);
          iteration();
          emit(Op.Jmp, split);
          const after = op.length;
          if (n.greedy) [x[split], y[split]] = [split + 1, after];
          else [x[split], y[split]] = [after, split + 1];
          return;
        }
        const splits: number[] = [];
        for (let k = n.min; k < n.max; k++) {
          splits.push(emit(Op.Split));
          iteration();
        }
        const after = op.length;
        for (const split of splits) {
          if (n.greedy) [x[split], y[split]] = [split + 1, after];
          else [x[split], y[split]] = [after, split + 1];
        }
        return;
      }
    }
  };
  walk(root);
  emit(Op.Match);
  return { op: Uint8Array.from(op), x: Int32Array.from(x), y: Int32Array.from(y), sets, setRanges, maxDepth };
}

export function assertHolds(kind: number, text: string, pos: number): boolean {
  switch (kind) {
    case ASSERT_KINDS.start:
      return pos === 0;
    case ASSERT_KINDS.end:
      return pos === text.length;
    case ASSERT_KINDS.word:
      return isWordAt(text, pos - 1) !== isWordAt(text, pos);
    default:
      return isWordAt(text, pos - 1) === isWordAt(text, pos);
  }
}
