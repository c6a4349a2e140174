import { ASSERT_KINDS, CharSet, Op, WORD_SET, type Program } from './compile.ts';

/** States kept at most; past this the cache starts over (as RE2's does). */
const MAX_STATES = 2048;

/** What {@link MatchDfa.firstEnd} returns when it gave up (its cache kept filling): the caller runs the VM. */
export const GAVE_UP = -3;
const MATCHED = -2;
const UNKNOWN = -1;

interface State {
  /** Program counters reached by consuming the previous code unit, before their non-consuming closure. */
  pcs: Int32Array;
  /** Class of the previous code unit (START at the beginning of the text). */
  prev: number;
}

/**
 * A lazily built DFA over the program that answers one question fast: does any match end at or after `from`, and
 * where does the first one end? Most strings a filter sees hold no match at all; for them this is one table
 * lookup per code unit, and the Pike VM (which finds exact match bounds) never runs.
 *
 * Code units are grouped into classes that every character set of the program treats alike. Assertions (`^`, `$`,
 * `\b`, one-character lookarounds) depend only on the classes of the code units before and after a position, so a
 * state is the set of program counters plus the previous code unit's class, and its closure is taken when the next
 * code unit is read.
 */
export class MatchDfa {
  private readonly prog: Program;
  /** Sorted interval starts over [0, 0x10000) and the class of each interval. */
  private readonly bounds: Int32Array;
  private readonly boundClass: Int32Array;
  private readonly asciiClass = new Int32Array(128);
  /** A code unit of each class, to evaluate sets and assertions for the whole class. */
  private readonly reps: number[] = [];
  private readonly start: number;
  private readonly end: number;
  private readonly width: number;
  private states: State[] = [];
  /** Transitions, `width` per state: the next state per class of the next code unit, MATCHED, or UNKNOWN. */
  private table = new Int32Array(0);
  private index = new Map<string, number>();
  /** The state a scan starts in, per class of the code unit before it (-1: not made yet). */
  private readonly starts: Int32Array;

  constructor(prog: Program) {
    this.prog = prog;
    const distinct = new Map<string, CharSet>();
    prog.setRanges.forEach((r, i) => distinct.set(r.join(','), prog.sets[i]));
    const sets = [...distinct.values(), WORD_SET];
    const cuts = new Set<number>([0, 0x10000]);
    for (const r of [...distinct.keys()].map((k) => (k === '' ? [] : k.split(',').map(Number)))) {
      for (let i = 0; i < r.length; i += 2) cuts.add(r[i]).add(r[i + 1] + 1);
    }
    for (const c of [0x30, 0x3a, 0x41, 0x5b, 0x5f, 0x60, 0x61, 0x7b]) cuts.add(c); // the word set's edges
    const sorted = [...cuts].sort((a, b) => a - b);
    const signatures = new Map<string, number>();
    this.bounds = Int32Array.from(sorted.slice(0, -1));
    this.boundClass = new Int32Array(this.bounds.length);
    this.bounds.forEach((lo, i) => {
      const signature = sets.map((s) => (s.has(lo) ? '1' : '0')).join('');
      let cls = signatures.get(signature);
      if (cls === undefined) {
        cls = this.reps.length;
        signatures.set(signature, cls);
        this.reps.push(lo);
      }
      this.boundClass[i] = cls;
    });
    for (let c = 0; c < 128; c++) this.asciiClass[c] = this.classOfHigh(c);
    this.start = this.reps.length;
    this.end = this.reps.length + 1;
    this.width = this.reps.length + 2;
    this.starts = new Int32Array(this.width).fill(-1);
  }

  /**
   * Where the first match (of any start) to end at or after `from` ends, -1 when there is none, or
   * {@link GAVE_UP} when the pattern makes too many states on this text.
   */
  firstEnd(text: string, from: number): number {
    const n = text.length;
    let created = 0;
    const allowed = (n - from) / 4 + 256;
    const before = from === 0 ? this.start : this.classOf(text.charCodeAt(from - 1));
    let state = this.starts[before];
    if (state < 0) state = this.starts[before] = this.stateFor(new Int32Array(0), before);
    const width = this.width;
    for (let pos = from; ; pos++) {
      const cls = pos < n ? this.classOf(text.charCodeAt(pos)) : this.end;
      let next = this.table[state * width + cls];
      if (next === UNKNOWN) {
        if (++created > allowed) return GAVE_UP;
        if (this.states.length >= MAX_STATES) {
          // Start over, keeping the current state so the scan goes on from it.
          const current = this.states[state];
          this.states = [];
          this.index.clear();
          this.starts.fill(-1);
          this.table.fill(UNKNOWN);
          state = this.stateFor(current.pcs, current.prev);
        }
        next = this.step(state, cls);
        this.table[state * width + cls] = next;
      }
      if (next === MATCHED) return pos;
      if (pos >= n) return -1;
      state = next;
    }
  }

  private classOf(c: number): number {
    return c < 128 ? this.asciiClass[c] : this.classOfHigh(c);
  }

  private classOfHigh(c: number): number {
    const b = this.bounds;
    let lo = 0;
    let hi = b.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (b[mid] <= c) lo = mid;
      else hi = mid - 1;
    }
    return this.boundClass[lo];
  }

  private stateFor(pcs: Int32Array, prev: number): number {
    const key = `${prev}:${pcs.join(',')}`;
    let id = this.index.get(key);
    if (id === undefined) {
      id = this.states.length;
      this.states.push({ pcs, prev });
      if (this.table.length < this.states.length * this.width) {
        const grown = new Int32Array(Math.max(64, this.states.length * 2) * this.width).fill(UNKNOWN);
        grown.set(this.table);
        this.table = grown;
      }
      this.index.set(key, id);
    }
    return id;
  }

  /** The closure of a state's pcs (plus a new start, the search being unanchored) at a position whose next code unit has class `cls`, then one step over it. */
  private step(stateId: number, cls: number): number {
    const { op, x, y, sets } = this.prog;
    const state = this.states[stateId];
    const prevRep = state.prev === this.start ? -1 : this.reps[state.prev];
    const nextRep = cls === this.end ? -1 : this.reps[cls];
    const isWord = (c: number) => c >= 0 && WORD_SET.has(c);
    const seen = new Uint8Array(op.length);
    const reached = new Set<number>();
    const stack = [0, ...state.pcs];
    while (stack.length > 0) {
      const pc = stack.pop()!;
      if (seen[pc]) continue;
      seen[pc] = 1;
      switch (op[pc]) {
        case Op.Match:
          return MATCHED;
        case Op.Char:
          if (nextRep >= 0 && sets[x[pc]].has(nextRep)) reached.add(pc + 1);
          break;
        case Op.Jmp:
          stack.push(x[pc]);
          break;
        // The progress check only ever picks between matches at the same position (an empty iteration and skipping
        // it reach the same places): whether a match exists does not depend on it.
        case Op.Enter:
        case Op.Progress:
          stack.push(pc + 1);
          break;
        case Op.Split:
          stack.push(x[pc], y[pc]);
          break;
        case Op.Assert: {
          const kind = x[pc];
          const holds =
            kind === ASSERT_KINDS.start ? state.prev === this.start
            : kind === ASSERT_KINDS.end ? cls === this.end
            : kind === ASSERT_KINDS.word ? isWord(prevRep) !== isWord(nextRep)
            : isWord(prevRep) === isWord(nextRep);
          if (holds) stack.push(pc + 1);
          break;
        }
        case Op.Look: {
          const c = y[pc] & 1 ? nextRep : prevRep;
          const hit = c >= 0 && sets[x[pc]].has(c);
          if (hit !== ((y[pc] & 2) !== 0)) stack.push(pc + 1);
          break;
        }
      }
    }
    if (cls === this.end) return UNKNOWN_END;
    return this.stateFor(Int32Array.from([...reached].sort((a, b) => a - b)), cls);
  }
}

/** The step past the end of the text found no match: any state id works, the scan stops there. */
const UNKNOWN_END = 0;
