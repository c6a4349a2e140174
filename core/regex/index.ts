/**
 * A linear-time regular-expression engine for the patterns users put in ready-made filter configs (deny rules,
 * argument schemas, custom PII patterns) and for the built-in PII patterns.
 *
 * JavaScript's own engine backtracks: `(a+)+$`, or even a plain email pattern scanned over 80 KB of `a`, takes
 * quadratic or exponential time, and the filter runs on the gateway's event loop, so one hostile body stalls every
 * route. This engine compiles the pattern to a program and runs it as a Pike VM (Thompson NFA simulation with
 * thread priorities), so a search costs at most (text length x program size) steps and gives the same match as
 * JavaScript would (leftmost, first alternative preferred, greedy or lazy as written). A lazily built DFA
 * (linear-regex-dfa.ts) first says whether there is a match at all, one table lookup per code unit, so the VM only
 * runs on texts that have one.
 *
 * The syntax is JavaScript's (no flags), minus what needs backtracking: backreferences, lookarounds longer than one
 * character, inline modifiers. Those are refused when the config is loaded, with the reason. Counted repetitions
 * are expanded, so the program is bounded by {@link MAX_PROGRAM_SIZE} instructions.
 */
import { GAVE_UP, MatchDfa } from './dfa.ts';
import { assertHolds, CharSet, compile, MAX_PROGRAM_SIZE, Op, Parser, UnsupportedPattern, type Program, type Ranges } from './compile.ts';

export { MAX_PROGRAM_SIZE, UnsupportedPattern };

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
  /** Visited marks per (pc, depth note): Char and Match pcs use note 0, a thread being one per pc. */
  private readonly mark: Int32Array;
  private generation = 0;
  /** Depth notes a thread can carry: 0 (none) to the program's deepest Enter. */
  private readonly notes: number;
  private readonly stack: Int32Array;
  private readonly stackNotes: Int32Array;
  /** Code units that can begin a match, or undefined when a match can begin anywhere (it may be empty). */
  private readonly first: CharSet | undefined;
  /** Says fast whether a match exists at all: the VM only runs on texts that have one. */
  private readonly dfa: MatchDfa;
  /**
   * Code units every match consumes (the `@` of an email, the `/` of `\.\./`): a text without one of them has no
   * match, which `indexOf` (native, vectorised) says faster than any scan; re2js's literal prefilter, measured in
   * bench/regex.bench.ts, showed the gain.
   */
  private readonly required: string[];

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
    this.notes = this.prog.maxDepth + 1;
    this.mark = new Int32Array(size * this.notes);
    // Every (pc, note) is pushed at most once per predecessor, and a pc has at most two.
    this.stack = new Int32Array(2 * size * this.notes + 2);
    this.stackNotes = new Int32Array(2 * size * this.notes + 2);
    // Threads are only ever added at the start (pc 0) and after a Char: those are the closures worth keeping.
    this.closure = Array.from({ length: size }, (_, pc) => (pc === 0 || this.prog.op[pc - 1] === Op.Char ? this.staticClosure(pc) : null));
    this.first = this.firstSet();
    this.dfa = new MatchDfa(this.prog);
    this.required = this.requiredUnits();
  }

  /** False when the text from `from` on lacks a code unit every match needs. */
  private mayMatch(text: string, from: number): boolean {
    for (let k = 0; k < this.required.length; k++) if (text.indexOf(this.required[k], from) < 0) return false;
    return true;
  }

  /**
   * Whether the pattern matches anywhere in `text` (like `RegExp.prototype.test` without the `g` flag). Throws
   * {@link ScanTooExpensive} past `maxSteps` (default {@link stepBudget} of the text).
   */
  test(text: string, maxSteps = stepBudget(text.length)): boolean {
    if (!this.mayMatch(text, 0)) return false;
    const end = this.dfa.firstEnd(text, 0);
    if (end !== GAVE_UP) return end >= 0;
    return this.run(text, 0, maxSteps) !== undefined;
  }

  /**
   * The leftmost match starting at or after `from`: [start, end, scannedUpTo], or undefined. `scannedUpTo` is how
   * far the search had to read. Throws {@link ScanTooExpensive} once it has taken more than `maxSteps`; `steps`
   * then says how many it took, for callers that share one budget between repeated searches.
   */
  search(text: string, from: number, maxSteps = Infinity): [number, number, number] | undefined {
    if (!this.mayMatch(text, from) || this.dfa.firstEnd(text, from) === -1) {
      this.steps = 0;
      return undefined;
    }
    return this.run(text, from, maxSteps);
  }

  /** The Pike VM: exact match bounds with JavaScript's priorities. */
  private run(text: string, from: number, maxSteps: number): [number, number, number] | undefined {
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
        if (mark[pc * this.notes] === gen) continue;
        mark[pc * this.notes] = gen;
        pcs[n] = pc;
        starts[n] = start;
        n++;
      }
      return n;
    }
    const { op, x, y } = this.prog;
    const notes = this.notes;
    const stack = this.stack;
    const stackNotes = this.stackNotes;
    let sp = 0;
    stack[sp] = pc0;
    stackNotes[sp++] = 0;
    while (sp > 0) {
      const pc = stack[--sp];
      const note = stackNotes[sp];
      const o = op[pc];
      const at = o === Op.Char || o === Op.Match ? pc * notes : pc * notes + note;
      if (mark[at] === gen) continue;
      mark[at] = gen;
      let next = -1;
      let nextNote = note;
      switch (o) {
        case Op.Jmp:
          next = x[pc];
          break;
        case Op.Split:
          stack[sp] = y[pc];
          stackNotes[sp++] = note;
          next = x[pc];
          break;
        case Op.Assert:
          if (assertHolds(x[pc], text, pos)) next = pc + 1;
          break;
        case Op.Look: {
          const i = y[pc] & 1 ? pos : pos - 1;
          const hit = i >= 0 && i < text.length && this.prog.sets[x[pc]].has(text.charCodeAt(i));
          if (hit !== ((y[pc] & 2) !== 0)) next = pc + 1;
          break;
        }
        case Op.Enter:
          next = pc + 1;
          nextNote = note === 0 ? x[pc] : Math.min(note, x[pc]);
          break;
        case Op.Progress:
          if (note === 0 || note > x[pc]) next = pc + 1; // else: this iteration consumed nothing, and fails
          break;
        default:
          pcs[n] = pc;
          starts[n] = start;
          n++;
      }
      if (next >= 0) {
        stack[sp] = next;
        stackNotes[sp++] = nextNote;
      }
    }
    return n;
  }

  private staticClosure(pc0: number): Int32Array | null {
    const { op, x, y } = this.prog;
    const notes = this.notes;
    const seen = new Uint8Array(this.size * notes);
    const out: number[] = [];
    const stack: Array<[number, number]> = [[pc0, 0]];
    while (stack.length > 0) {
      const [pc, note] = stack.pop()!;
      const at = op[pc] === Op.Char || op[pc] === Op.Match ? pc * notes : pc * notes + note;
      if (seen[at]) continue;
      seen[at] = 1;
      switch (op[pc]) {
        case Op.Jmp:
          stack.push([x[pc], note]);
          break;
        case Op.Split:
          stack.push([y[pc], note], [x[pc], note]);
          break;
        case Op.Enter:
          stack.push([pc + 1, note === 0 ? x[pc] : Math.min(note, x[pc])]);
          break;
        case Op.Progress:
          if (note === 0 || note > x[pc]) stack.push([pc + 1, note]);
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

  /** The code units that are the whole set of a Char every path from the start to Match goes through (at most 4). */
  private requiredUnits(): string[] {
    const { op, x, y, setRanges } = this.prog;
    const single = (pc: number): number => {
      const r = setRanges[x[pc]];
      if (r.length === 0) return -1;
      for (let i = 0; i < r.length; i += 2) if (r[i] !== r[0] || r[i + 1] !== r[0]) return -1;
      return r[0];
    };
    const candidates = new Set<number>();
    for (let pc = 0; pc < this.size; pc++) if (op[pc] === Op.Char && single(pc) >= 0) candidates.add(single(pc));
    const required: string[] = [];
    for (const unit of candidates) {
      // Is Match reachable from the start when every Char of exactly this unit is removed?
      const seen = new Uint8Array(this.size);
      const todo = [0];
      let reached = false;
      while (todo.length > 0 && !reached) {
        const pc = todo.pop()!;
        if (seen[pc]) continue;
        seen[pc] = 1;
        switch (op[pc]) {
          case Op.Match:
            reached = true;
            break;
          case Op.Char:
            if (single(pc) !== unit) todo.push(pc + 1);
            break;
          case Op.Jmp:
            todo.push(x[pc]);
            break;
          case Op.Split:
            todo.push(x[pc], y[pc]);
            break;
          default:
            todo.push(pc + 1); // assertions, lookarounds and progress checks consume nothing
        }
      }
      if (!reached) required.push(String.fromCharCode(unit));
      if (required.length === 4) break;
    }
    return required;
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
