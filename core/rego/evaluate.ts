import { loadPolicy, type LoadedPolicy } from '@open-policy-agent/opa-wasm';
import { ErrorCodes, GatewayError } from '../errors.ts';
import { HOST_BUILTINS, SUPPORTED_BUILTINS } from './builtins.ts';

const encoder = new TextEncoder();

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
    policy.setData(options.data);
  } catch (err) {
    throw new GatewayError(ErrorCodes.POLICY_COMPILE, `${label}cannot load the policy data: ${describe(err)}`, { cause: err });
  }
  const entrypoint = options.entrypoint;
  if (!Object.hasOwn(policy.entrypoints as object, entrypoint)) {
    throw new GatewayError(ErrorCodes.POLICY_COMPILE, `${label}the compiled policy has no entrypoint "${entrypoint}"`);
  }
  const id = (policy.entrypoints as Record<string, number>)[entrypoint];
  const run = (input: unknown): RegoDecision => {
    let rs: unknown;
    try {
      rs = policy.evaluate(input, id);
    } catch (err) {
      throw new RegoEvalError(`evaluation of ${entrypoint} failed: ${describe(err)}`, { cause: err });
    }
    if (!Array.isArray(rs) || rs.length === 0) throw new RegoEvalError(`${entrypoint} is undefined for this input`);
    return toDecision(entrypoint, (rs[0] as { result?: unknown }).result);
  };
  return {
    entrypoint,
    builtins,
    evaluate: run,
    // opa-wasm takes an ArrayBuffer as ready-made JSON; TextEncoder gives one of exactly the encoded length.
    evaluateJson: (json) => run(encoder.encode(json).buffer),
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
