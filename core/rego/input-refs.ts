import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CACHE_DIR } from './compile.ts';
import { findOpa } from './opa.ts';

/**
 * The parts of `input` a policy can read: `true` is the whole value; an object names the keys that are read, each
 * with what of it is read. A policy only ever reaches `input` through references (`input.identity.roles`,
 * `input.request.headers[h]`, `import input.mcp as m`), so the decision depends on nothing outside these paths: the
 * gateway builds only these parts (smaller input, cheaper to serialize and for OPA to parse), and a policy that does
 * not read `input.mcp` decides every MCP message of a request as it decided the request.
 */
export type InputRefs = true | { readonly [key: string]: InputRefs };

/** Where nothing is known: the whole input (what callers get when the analysis cannot be made). */
export const WHOLE_INPUT: InputRefs = true;

const PARSE_TIMEOUT_MS = 30_000;
/** Bumped whenever the analysis changes, so an analysis kept on disk by an older gateway is made again. */
const ANALYSIS_VERSION = 1;

type Tree = true | { [key: string]: Tree };

/** Marks `path` (constant keys below `input`) as read; an empty path is the whole input. */
function addPath(tree: Tree, path: readonly string[]): Tree {
  if (tree === true || path.length === 0) return true;
  let node: { [key: string]: Tree } = tree;
  for (let i = 0; i < path.length; i++) {
    const key = path[i];
    if (!Object.hasOwn(node, key)) node[key] = i === path.length - 1 ? true : Object.create(null);
    else if (i === path.length - 1) node[key] = true;
    const next = node[key];
    if (next === true) return tree;
    node = next;
  }
  return tree;
}

/** `a` ∪ `b`: everything either reads. */
export function mergeInputRefs(a: InputRefs, b: InputRefs): InputRefs {
  if (a === true || b === true) return true;
  // Null prototype throughout: a key named `__proto__` is a key like any other.
  const out: { [key: string]: InputRefs } = Object.create(null);
  for (const key of Object.keys(a)) out[key] = a[key];
  for (const key of Object.keys(b)) out[key] = Object.hasOwn(out, key) ? mergeInputRefs(out[key], b[key]) : b[key];
  return out;
}

type Node = { type?: unknown; value?: unknown } & Record<string, unknown>;

/**
 * The input paths one module reads, from its AST as `opa parse --format json` prints it. Every reference whose head
 * is the variable `input` counts with its leading constant string keys (`input.request.headers[k]` reads all of
 * `input.request.headers`); `input` anywhere else (passed whole to a function, `with input as`, `import input`)
 * reads all of it. `reads` counts the references found, for `moduleInputRefs` to cross-check.
 */
export function collectInputRefs(ast: unknown): { refs: InputRefs; reads: number } {
  let tree: Tree = Object.create(null);
  let reads = 0;
  const isInputVar = (n: unknown) => typeof n === 'object' && n !== null && (n as Node).type === 'var' && (n as Node).value === 'input';
  const walk = (n: unknown): void => {
    if (Array.isArray(n)) {
      for (const item of n) walk(item);
      return;
    }
    if (typeof n !== 'object' || n === null) return;
    const node = n as Node;
    if (node.type === 'ref' && Array.isArray(node.value) && isInputVar(node.value[0])) {
      reads++;
      const path: string[] = [];
      for (let i = 1; i < node.value.length; i++) {
        const part = node.value[i] as Node;
        if (part?.type !== 'string' || typeof part.value !== 'string') break;
        path.push(part.value);
      }
      tree = addPath(tree, path);
      // The dynamic parts may themselves read input (`input.roles[input.role]`).
      for (let i = 1; i < node.value.length; i++) walk(node.value[i]);
      return;
    }
    if (isInputVar(node)) {
      reads++;
      tree = true;
      return;
    }
    for (const value of Object.values(node)) walk(value);
  };
  walk(ast);
  return { refs: tree, reads };
}

/** The word `input` in Rego source outside comments (a cross-check of the AST walk: it must find what this finds). */
function mentionsInput(text: string): boolean {
  return text.split('\n').some((line) => /\binput\b/.test(line.replace(/#.*$/, '')));
}

/**
 * The input paths of one module from its AST and source; the whole input when the AST is not the shape expected
 * (a module object with a package) or when the source names `input` and the AST walk found no read of it.
 */
export function moduleInputRefs(ast: unknown, source: string): InputRefs {
  if (typeof ast !== 'object' || ast === null || Array.isArray(ast) || typeof (ast as Node).package !== 'object') return WHOLE_INPUT;
  const { refs, reads } = collectInputRefs(ast);
  if (reads === 0 && mentionsInput(source)) return WHOLE_INPUT;
  return refs;
}

/** A stored analysis of the right shape: `true`, or an object of such. */
function isInputRefs(v: unknown): v is InputRefs {
  return v === true || (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every(isInputRefs));
}

/** Runs `opa parse` on one file; undefined when it fails (the caller then assumes the whole input). */
function parseModule(opa: string, file: string, cwd: string): Promise<unknown> {
  return new Promise((resolve) => {
    execFile(opa, ['parse', '--format', 'json', '--json-include', '-comments', file], { cwd, timeout: PARSE_TIMEOUT_MS, maxBuffer: 64 << 20 }, (err, stdout) => {
      if (err) return resolve(undefined);
      try {
        resolve(JSON.parse(String(stdout)));
      } catch {
        resolve(undefined);
      }
    });
  });
}

export interface InputRefsOptions {
  /** The sources exactly as compiled (`CompiledRego.sources`): all of them, any rule may be reached from the entrypoint. */
  sources: ReadonlyArray<{ file: string; text: string }>;
  baseDir: string;
  opaPath?: string;
  /** The compiled policy's content hash: the analysis is kept beside the compiled module. */
  hash: string;
  /** @default <repo>/.cache/rego */
  cacheDir?: string;
}

/**
 * The input paths a compiled policy reads, found by the same OPA that compiled it, from the very texts it compiled
 * (written to a scratch folder, so an edit saved meanwhile cannot slip in). Kept on disk by the content hash like
 * the compiled module, so only a changed policy runs the parser. Fails safe: a module OPA cannot parse, or an AST
 * in a shape this does not know, means the whole input.
 */
export async function analyzeInputRefs(options: InputRefsOptions): Promise<InputRefs> {
  const cacheDir = options.cacheDir ?? DEFAULT_CACHE_DIR;
  const cached = join(cacheDir, `${options.hash}.input.json`);
  try {
    const stored = JSON.parse(await readFile(cached, 'utf8')) as { version?: unknown; refs?: InputRefs };
    if (stored.version === ANALYSIS_VERSION && isInputRefs(stored.refs)) return stored.refs;
  } catch {
    // not analyzed yet
  }
  let refs: InputRefs = Object.create(null);
  const work = await mkdtemp(join(tmpdir(), 'pcl-rego-parse-'));
  try {
    const opa = findOpa(options.opaPath, options.baseDir);
    const modules = await Promise.all(
      options.sources.map(async (s, i) => {
        const file = join(work, `${i}.rego`);
        await writeFile(file, s.text);
        return moduleInputRefs(await parseModule(opa, file, work), s.text);
      }),
    );
    for (const m of modules) refs = mergeInputRefs(refs, m);
    // As plain objects (JSON.parse keeps a `__proto__` key an own key), the form read back from disk next time.
    refs = JSON.parse(JSON.stringify(refs)) as InputRefs;
  } catch {
    return WHOLE_INPUT;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  try {
    await mkdir(cacheDir, { recursive: true });
    const partial = `${cached}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(partial, JSON.stringify({ version: ANALYSIS_VERSION, refs }));
    await rename(partial, cached);
  } catch {
    // a cache that cannot be written only costs a parse next time
  }
  return refs;
}
