import type { LoadedPolicy } from '@open-policy-agent/opa-wasm';
import { ErrorCodes, GatewayError } from '../errors.ts';
import { HOST_BUILTINS, PURE_BUILTINS, SUPPORTED_BUILTINS } from './builtins.ts';
import { WHOLE_INPUT, type InputRefs } from './input-refs.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Decisions kept per policy (by their input document), and the longest input document kept. */
const DECISION_CACHE_MAX = 512;
const DECISION_CACHE_MAX_INPUT = 2048;

/** A decision as the gateway acts on it. */
export interface RegoDecision {
  allow: boolean;
  reason?: string;
}

/** A compiled policy, loaded and ready: `evaluate` is synchronous and cheap (no I/O). */
export interface RegoPolicy {
  readonly entrypoint: string;
  /** Host builtins the policy uses. */
  readonly builtins: readonly string[];
  /** The parts of `input` the policy reads (`true`: all of it, or not known); callers may leave out the rest. */
  readonly inputRefs: InputRefs;
  /**
   * True when the decision is a function of the input document alone (the data is fixed for the policy's life, and
   * no builtin it uses reads the clock or anything else outside): the same input gets the same decision, which is
   * then reused instead of evaluated again.
   */
  readonly pure: boolean;
  /** Throws RegoEvalError when the policy fails or its decision is undefined or malformed: callers deny. */
  evaluate(input: unknown): RegoDecision;
  /** The same, for an input already serialized: callers that build many inputs from one base skip re-serializing it. */
  evaluateJson(json: string): RegoDecision;
}

/** An evaluation that produced no usable decision. Never allows. */
export class RegoEvalError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RegoEvalError';
  }
}

export interface LoadOptions {
  wasm: Buffer;
  entrypoint: string;
  data: Record<string, unknown>;
  /** Sources, to point at the line that uses a builtin the gateway does not provide. */
  sources?: ReadonlyArray<{ file: string; text: string }>;
  /** What the policy reads of its input (`analyzeInputRefs`). @default true (all of it) */
  inputRefs?: InputRefs;
  label?: string;
}

/** Reads the builtins a compiled module needs: the ABI's `builtins()` export returns a JSON object name → id. */
function requiredBuiltins(policy: LoadedPolicy): string[] {
  // The typings omit the ABI exports; they are part of every module `opa build -t wasm` writes.
  const instance = policy.wasmInstance as unknown as { exports: Record<string, (...args: number[]) => number> };
  const exports = instance.exports;
  const addr = exports.opa_json_dump(exports.builtins());
  const mem = new Uint8Array(policy.mem.buffer);
  let end = addr;
  while (mem[end] !== 0) end++;
  return Object.keys(JSON.parse(Buffer.from(mem.subarray(addr, end)).toString('utf8')) as Record<string, number>);
}

function locate(name: string, sources: ReadonlyArray<{ file: string; text: string }>): string {
  const where: string[] = [];
  for (const s of sources) {
    s.text.split('\n').forEach((line, i) => {
      if (line.includes(`${name}(`)) where.push(`${s.file}:${i + 1}`);
    });
  }
  return where.length > 0 ? ` (${where.join(', ')})` : '';
}

/**
 * Instantiates a compiled policy with the host builtins, refuses it when it needs a builtin the gateway does not
 * provide (so the problem shows at load, not on some request), and loads its data.
 */
export async function loadRegoPolicy(options: LoadOptions): Promise<RegoPolicy> {
  const label = options.label ? `${options.label}: ` : '';
  let policy: LoadedPolicy;
  try {
    // Loaded on first use: a gateway without Rego policies never loads the WebAssembly SDK.
    const { loadPolicy } = await import('@open-policy-agent/opa-wasm');
    policy = await loadPolicy(options.wasm, undefined, HOST_BUILTINS);
  } catch (err) {
    throw new GatewayError(ErrorCodes.POLICY_COMPILE, `${label}cannot load the compiled policy: ${describe(err)}`, { cause: err });
  }
  const builtins = requiredBuiltins(policy);
  const missing = builtins.filter((b) => !SUPPORTED_BUILTINS.has(b));
  if (missing.length > 0) {
    throw new GatewayError(
      ErrorCodes.POLICY_COMPILE,
      `${label}the policy uses builtin(s) that OPA's WebAssembly target leaves to the host and the gateway does not provide: ` +
        `${missing.map((m) => `${m}${locate(m, options.sources ?? [])}`).join('; ')}. ` +
        `Provided: ${[...SUPPORTED_BUILTINS].sort().join(', ')}`,
    );
  }
  try {
    // Once, for the policy's life: new data is a new policy (a reload), never a call to setData per evaluation.
    policy.setData(options.data);
  } catch (err) {
    throw new GatewayError(ErrorCodes.POLICY_COMPILE, `${label}cannot load the policy data: ${describe(err)}`, { cause: err });
  }
  const entrypoint = options.entrypoint;
  if (!Object.hasOwn(policy.entrypoints as object, entrypoint)) {
    throw new GatewayError(ErrorCodes.POLICY_COMPILE, `${label}the compiled policy has no entrypoint "${entrypoint}"`);
  }
  const id = (policy.entrypoints as Record<string, number>)[entrypoint];
  const evalJson = jsonEvaluator(policy, id);
  const decisionOf = (rs: unknown): RegoDecision => {
    if (!Array.isArray(rs) || rs.length === 0) throw new RegoEvalError(`${entrypoint} is undefined for this input`);
    return toDecision(entrypoint, (rs[0] as { result?: unknown }).result);
  };
  const run = (json: string | undefined, input?: unknown): RegoDecision => {
    let rs: unknown;
    try {
      rs = json === undefined ? policy.evaluate(input, id) : evalJson(json);
    } catch (err) {
      throw new RegoEvalError(`evaluation of ${entrypoint} failed: ${describe(err)}`, { cause: err });
    }
    return rs === ALLOW_RESULT ? ALLOW : rs === DENY_RESULT ? DENY : decisionOf(rs);
  };
  const pure = builtins.every((b) => PURE_BUILTINS.has(b));
  // Only decisions are kept, never errors: an input that failed is evaluated again (and fails closed again).
  const decisions = new Map<string, RegoDecision>();
  const evaluateJson = !pure
    ? (json: string) => run(json)
    : (json: string): RegoDecision => {
        const hit = decisions.get(json);
        if (hit) {
          // Least recently used goes first: a hit moves to the back.
          decisions.delete(json);
          decisions.set(json, hit);
          return hit;
        }
        const decision = run(json);
        if (json.length <= DECISION_CACHE_MAX_INPUT) {
          if (decisions.size >= DECISION_CACHE_MAX) decisions.delete(decisions.keys().next().value!);
          decisions.set(json, decision);
        }
        return decision;
      };
  return {
    entrypoint,
    builtins,
    inputRefs: options.inputRefs ?? WHOLE_INPUT,
    pure,
    // opa-wasm evaluates a falsy input (null, 0, "") as no input at all; kept as it was.
    evaluate: (input) => (input ? evaluateJson(JSON.stringify(input)) : run(undefined, input)),
    evaluateJson,
  };
}

/** The result sets of a boolean rule, as OPA writes them: recognized as text, without parsing them. */
const ALLOW_RESULT = '[{"result":true}]';
const DENY_RESULT = '[{"result":false}]';
const ALLOW: RegoDecision = Object.freeze({ allow: true });
const DENY: RegoDecision = Object.freeze({ allow: false });

/** What opa-wasm's LoadedPolicy keeps in plain fields (its typings leave them out). */
interface PolicyInternals {
  minorVersion: number;
  mem: { buffer: ArrayBuffer; grow(pages: number): number };
  dataAddr: number;
  dataHeapPtr: number;
  wasmInstance: { exports: { opa_eval(reserved: number, entrypoint: number, data: number, input: number, inputLen: number, heap: number, format: number): number } };
}

const WASM_PAGE = 65_536;

/**
 * Evaluates an input document given as JSON text and returns the result set: the JSON text itself when it is one of
 * the two boolean results, else the parsed value. On ABI 1.2 (every OPA this project builds with) the text is
 * encoded straight into the module's memory at the heap start, as opa-wasm's own fast path places it, without an
 * intermediate buffer; older modules go through opa-wasm's `evaluate`.
 */
function jsonEvaluator(policy: LoadedPolicy, entrypoint: number): (json: string) => unknown {
  const p = policy as unknown as PolicyInternals;
  if (!(p.minorVersion >= 2) || typeof p.wasmInstance?.exports?.opa_eval !== 'function') {
    return (json) => policy.evaluate(encoder.encode(json).buffer, entrypoint);
  }
  const exports = p.wasmInstance.exports;
  return (json) => {
    const mem = p.mem;
    const at = p.dataHeapPtr;
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    const need = at + json.length * 3 - mem.buffer.byteLength;
    if (need > 0) mem.grow(Math.ceil(need / WASM_PAGE));
    const { written } = encoder.encodeInto(json, new Uint8Array(mem.buffer, at));
    const resultAddr = exports.opa_eval(0, entrypoint, p.dataAddr, at, written, at + written, 0);
    const bytes = new Uint8Array(mem.buffer);
    const end = bytes.indexOf(0, resultAddr);
    const text = decoder.decode(bytes.subarray(resultAddr, end === -1 ? bytes.length : end));
    return text === ALLOW_RESULT || text === DENY_RESULT ? text : JSON.parse(text);
  };
}

function toDecision(entrypoint: string, value: unknown): RegoDecision {
  if (typeof value === 'boolean') return { allow: value };
  if (typeof value === 'object' && value !== null && typeof (value as { allow?: unknown }).allow === 'boolean') {
    const { allow, reason } = value as { allow: boolean; reason?: unknown };
    return typeof reason === 'string' ? { allow, reason } : { allow };
  }
  throw new RegoEvalError(`${entrypoint} must be a boolean or {allow, reason}, got ${JSON.stringify(value)?.slice(0, 200)}`);
}

/** opa-wasm throws strings and plain objects as well as Errors. */
function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'string') return err;
  if (typeof err === 'object' && err !== null && 'message' in err) return String((err as { message: unknown }).message);
  return String(err);
}
