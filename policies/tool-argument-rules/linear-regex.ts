/**
 * A linear-time regular-expression engine for the patterns users put in ready-made filter configs (deny rules,
 * argument schemas, custom PII patterns) and for the built-in PII patterns.
 *
 * JavaScript's own engine backtracks: `(a+)+$`, or even a plain email pattern scanned over 80 KB of `a`, takes
 * quadratic or exponential time, and the filter runs on the gateway's event loop, so one hostile body stalls every
 * route. This engine compiles the pattern to a program and runs it as a Pike VM (Thompson NFA simulation with
 * thread priorities), so a search costs at most (text length x program size) steps and gives the same match as
 * JavaScript would (leftmost, first alternative preferred, greedy or lazy as written).
 *
 * The syntax is JavaScript's (no flags), minus what needs backtracking: backreferences, lookarounds longer than one
 * character, inline modifiers. Those are refused when the config is loaded, with the reason. Counted repetitions
 * are expanded, so the program is bounded by {@link MAX_PROGRAM_SIZE} instructions.
 */

/** Instructions of an expanded pattern, at most: bounds the per-character cost of a search. */
export const MAX_PROGRAM_SIZE = 2000;

/** Why a pattern cannot run in linear time (or is not a valid pattern at all). */
export class UnsupportedPattern extends Error {}

/**
 * Work allowed per code unit of text, on average, before a scan gives up: one step per position plus one per
 * partial match alive there. The built-in PII patterns need under 10 on any text; `\w{1,100}x` on a long word
 * needs 100.
 */
export const STEPS_PER_CHAR = 32;

/** Steps allowed for scanning a text of `length` code units (every search over it together). */
export const stepBudget = (length: number) => STEPS_PER_CHAR * length + 1024;

/** A scan that would exceed its step budget: the caller treats the text as not inspected (fail closed). */
export class ScanTooExpensive extends Error {}

// ---------------------------------------------------------------------------------------------------------------
// Character sets: sorted, merged [lo, hi] ranges of UTF-16 code units, with an ASCII lookup table for speed.

type Ranges = number[]; // flat [lo0, hi0, lo1, hi1, ...]

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

const WORD_SET = new CharSet(WORD);
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

class Parser {
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

const Op = { Char: 0, Split: 1, Jmp: 2, Assert: 3, Look: 4, Match: 5 } as const;
type Op = (typeof Op)[keyof typeof Op];

interface Program {
  op: Uint8Array;
  x: Int32Array; // Char, Look: set index; Split, Jmp: first target; Assert: kind
  y: Int32Array; // Split: second target; Look: ahead (1) / behind (0) and negate (2)
  sets: CharSet[];
  /** The ranges each set was built from (for the first-character prefilter). */
  setRanges: Ranges[];
}

const ASSERT_KINDS = { start: 0, end: 1, word: 2, notWord: 3 } as const;

function compile(root: Node): Program {
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
        if (n.max === Infinity) {
          const split = emit(Op.Split);
          walk(n.node);
          emit(Op.Jmp, split);
          const after = op.length;
          if (n.greedy) [x[split], y[split]] = [split + 1, after];
          else [x[split], y[split]] = [after, split + 1];
          return;
        }
        const splits: number[] = [];
        for (let k = n.min; k < n.max; k++) {
          splits.push(emit(Op.Split));
          walk(n.node);
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
  return { op: Uint8Array.from(op), x: Int32Array.from(x), y: Int32Array.from(y), sets, setRanges };
}

// ---------------------------------------------------------------------------------------------------------------
// The Pike VM.

/** A compiled pattern: `test` and `exec`-like searches in O(text length x program size). */
export class LinearRegex {
  readonly source: string;
  /** Threads stepped by the last search: callers bound their total work with it. */
  steps = 0;
  private readonly prog: Program;
  private readonly size: number;
  /** 128 entries per pc: 1 where that Char instruction takes the ASCII code unit. */
  private readonly ascii: Uint8Array;
  /** Per pc, the Char and Match pcs reachable without consuming, in priority order; null when an assertion is on the way. */
  private readonly closure: Array<Int32Array | null>;
  // Per-search scratch, allocated once per pattern: two thread lists (pc, match start) and a visited mark per pc.
  private pcsA: Int32Array;
  private startsA: Int32Array;
  private pcsB: Int32Array;
  private startsB: Int32Array;
  private readonly mark: Int32Array;
  private generation = 0;
  private readonly stack: Int32Array;
  /** Code units that can begin a match, or undefined when a match can begin anywhere (it may be empty). */
  private readonly first: CharSet | undefined;

  constructor(source: string) {
    this.source = source;
    this.prog = compile(new Parser(source).parse());
    const size = (this.size = this.prog.op.length);
    this.ascii = new Uint8Array(size * 128);
    for (let pc = 0; pc < size; pc++) {
      if (this.prog.op[pc] !== Op.Char) continue;
      const set = this.prog.sets[this.prog.x[pc]];
      for (let c = 0; c < 128; c++) this.ascii[pc * 128 + c] = set.has(c) ? 1 : 0;
    }
    this.pcsA = new Int32Array(size);
    this.startsA = new Int32Array(size);
    this.pcsB = new Int32Array(size);
    this.startsB = new Int32Array(size);
    this.mark = new Int32Array(size);
    this.stack = new Int32Array(size + 1);
    // Threads are only ever added at the start (pc 0) and after a Char: those are the closures worth keeping.
    this.closure = Array.from({ length: size }, (_, pc) => (pc === 0 || this.prog.op[pc - 1] === Op.Char ? this.staticClosure(pc) : null));
    this.first = this.firstSet();
  }

  /**
   * Whether the pattern matches anywhere in `text` (like `RegExp.prototype.test` without the `g` flag). Throws
   * {@link ScanTooExpensive} past `maxSteps` (default {@link stepBudget} of the text).
   */
  test(text: string, maxSteps = stepBudget(text.length)): boolean {
    return this.search(text, 0, maxSteps) !== undefined;
  }

  /**
   * The leftmost match starting at or after `from`: [start, end, scannedUpTo], or undefined. `scannedUpTo` is how
   * far the search had to read. Throws {@link ScanTooExpensive} once it has taken more than `maxSteps`; `steps`
   * then says how many it took, for callers that share one budget between repeated searches.
   */
  search(text: string, from: number, maxSteps = Infinity): [number, number, number] | undefined {
    const op = this.prog.op;
    const sets = this.prog.sets;
    const x = this.prog.x;
    const ascii = this.ascii;
    const first = this.first;
    const n = text.length;
    let matchStart = -1;
    let matchEnd = -1;
    let steps = 0;
    let curPcs = this.pcsA;
    let curStarts = this.startsA;
    let nextPcs = this.pcsB;
    let nextStarts = this.startsB;
    let curN = 0;
    let curGen = this.nextGeneration();
    let pos = from;
    for (; ; pos++) {
      if (matchStart < 0) {
        if (curN === 0) {
          if (first !== undefined) {
            // Nothing in flight: skip to the next code unit that can begin a match.
            while (pos < n && !first.has(text.charCodeAt(pos))) pos++;
            if (pos >= n) break;
          }
          curGen = this.nextGeneration();
        }
        curN = this.add(curPcs, curStarts, curN, 0, pos, pos, text, curGen);
      }
      if (curN === 0) {
        if (matchStart >= 0 || pos >= n) break;
        continue; // an assertion failed here: try the next position
      }
      steps += curN + 1;
      if (steps > maxSteps) {
        this.steps = steps;
        throw new ScanTooExpensive(`pattern ${JSON.stringify(this.source)} needs more than ${STEPS_PER_CHAR} steps per character on this text`);
      }
      const nextGen = this.nextGeneration();
      let nextN = 0;
      const c = pos < n ? text.charCodeAt(pos) : -1;
      for (let t = 0; t < curN; t++) {
        const pc = curPcs[t];
        if (op[pc] === Op.Match) {
          matchStart = curStarts[t];
          matchEnd = pos;
          break; // lower-priority threads are cut
        }
        if (c < 0) continue;
        if (c < 128 ? ascii[pc * 128 + c] === 1 : sets[x[pc]].has(c)) nextN = this.add(nextPcs, nextStarts, nextN, pc + 1, pos + 1, curStarts[t], text, nextGen);
      }
      const swapPcs = curPcs;
      curPcs = nextPcs;
      nextPcs = swapPcs;
      const swapStarts = curStarts;
      curStarts = nextStarts;
      nextStarts = swapStarts;
      curN = nextN;
      curGen = nextGen;
      if (pos >= n) break;
    }
    this.steps = steps;
    return matchStart < 0 ? undefined : [matchStart, matchEnd, Math.min(pos, n)];
  }

  private nextGeneration(): number {
    if (this.generation >= 0x3fffffff) {
      this.mark.fill(0);
      this.generation = 0;
    }
    return ++this.generation;
  }

  /** Adds the thread at `pc0` and everything reachable from it without consuming, in priority order. */
  private add(pcs: Int32Array, starts: Int32Array, n: number, pc0: number, pos: number, start: number, text: string, gen: number): number {
    const mark = this.mark;
    const fixed = this.closure[pc0];
    if (fixed !== null) {
      for (let k = 0; k < fixed.length; k++) {
        const pc = fixed[k];
        if (mark[pc] === gen) continue;
        mark[pc] = gen;
        pcs[n] = pc;
        starts[n] = start;
        n++;
      }
      return n;
    }
    const { op, x, y } = this.prog;
    const stack = this.stack;
    let sp = 0;
    stack[sp++] = pc0;
    while (sp > 0) {
      const pc = stack[--sp];
      if (mark[pc] === gen) continue;
      mark[pc] = gen;
      switch (op[pc]) {
        case Op.Jmp:
          stack[sp++] = x[pc];
          break;
        case Op.Split:
          stack[sp++] = y[pc];
          stack[sp++] = x[pc];
          break;
        case Op.Assert:
          if (assertHolds(x[pc], text, pos)) stack[sp++] = pc + 1;
          break;
        case Op.Look: {
          const i = y[pc] & 1 ? pos : pos - 1;
          const hit = i >= 0 && i < text.length && this.prog.sets[x[pc]].has(text.charCodeAt(i));
          if (hit !== ((y[pc] & 2) !== 0)) stack[sp++] = pc + 1;
          break;
        }
        default:
          pcs[n] = pc;
          starts[n] = start;
          n++;
      }
    }
    return n;
  }

  private staticClosure(pc0: number): Int32Array | null {
    const { op, x, y } = this.prog;
    const seen = new Uint8Array(this.size);
    const out: number[] = [];
    const stack = [pc0];
    while (stack.length > 0) {
      const pc = stack.pop()!;
      if (seen[pc]) continue;
      seen[pc] = 1;
      switch (op[pc]) {
        case Op.Jmp:
          stack.push(x[pc]);
          break;
        case Op.Split:
          stack.push(y[pc], x[pc]);
          break;
        case Op.Assert:
        case Op.Look:
          return null;
        default:
          out.push(pc);
      }
    }
    return Int32Array.from(out);
  }

  private firstSet(): CharSet | undefined {
    const { op, x, y } = this.prog;
    const seen = new Uint8Array(this.size);
    const ranges: Ranges = [];
    const todo = [0];
    while (todo.length > 0) {
      const pc = todo.pop()!;
      if (seen[pc]) continue;
      seen[pc] = 1;
      switch (op[pc]) {
        case Op.Match:
          return undefined;
        case Op.Char:
          ranges.push(...this.prog.setRanges[x[pc]]);
          break;
        case Op.Jmp:
          todo.push(x[pc]);
          break;
        case Op.Split:
          todo.push(x[pc], y[pc]);
          break;
        default:
          todo.push(pc + 1); // assertions are ignored: the set is a superset, which is enough to skip by
      }
    }
    return new CharSet(ranges);
  }
}

function assertHolds(kind: number, text: string, pos: number): boolean {
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

/**
 * Compiles `source` for the linear engine, or throws {@link UnsupportedPattern} saying why it cannot be. The
 * pattern must also be a valid JavaScript regular expression (checked first, for JavaScript's own message).
 */
export function compileLinear(source: string): LinearRegex {
  try {
    new RegExp(source);
  } catch (err) {
    throw new UnsupportedPattern(`invalid regular expression ${JSON.stringify(source)}: ${(err as Error).message}`);
  }
  try {
    return new LinearRegex(source);
  } catch (err) {
    if (err instanceof UnsupportedPattern) throw new UnsupportedPattern(`regular expression ${JSON.stringify(source)} cannot run in linear time: ${err.message}`);
    throw err;
  }
}
