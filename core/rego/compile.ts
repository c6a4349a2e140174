import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { ErrorCodes, GatewayError } from '../errors.ts';
import { REPO_ROOT, findOpa } from './opa.ts';
import { readFromTarGz } from './tar.ts';

export interface CompileOptions {
  /** Absolute paths of the .rego files. */
  files: readonly string[];
  /** `package/rule`, e.g. `authz/allow`. */
  entrypoint: string;
  /** Directory the file names in OPA's messages are relative to (the config's). */
  baseDir: string;
  opaPath?: string;
  /** Where compiled policies are kept by content hash. @default <repo>/.cache/rego */
  cacheDir?: string;
  /** Prefix for messages, e.g. the config path of the policy. */
  label?: string;
}

export interface CompiledRego {
  wasm: Buffer;
  /** Content hash of the sources, the entrypoint and the compiler. */
  hash: string;
  /** Sources as read, for locating builtins in messages. */
  sources: Array<{ file: string; text: string }>;
  fromCache: boolean;
}

export const DEFAULT_CACHE_DIR = join(REPO_ROOT, '.cache', 'rego');
const BUILD_TIMEOUT_MS = 60_000;

/**
 * Compiles Rego to WebAssembly with the real OPA compiler (`opa build -t wasm`). The result is cached on disk by
 * content hash, so a restart or a reload that did not touch the Rego does not run the compiler again.
 */
export async function compileRego(options: CompileOptions): Promise<CompiledRego> {
  const label = options.label ? `${options.label}: ` : '';
  if (!/^[A-Za-z_][\w]*(\/[A-Za-z_][\w]*)+$/.test(options.entrypoint)) {
    throw new GatewayError(ErrorCodes.CONFIG_INVALID, `${label}entrypoint must be "package/rule" (e.g. "authz/allow"), got ${JSON.stringify(options.entrypoint)}`);
  }
  const sources: Array<{ file: string; text: string }> = [];
  for (const file of options.files) {
    try {
      sources.push({ file, text: await readFile(file, 'utf8') });
    } catch (err) {
      throw new GatewayError(ErrorCodes.POLICY_COMPILE, `${label}cannot read ${file}: ${(err as Error).message}`, { cause: err });
    }
  }
  const opa = findOpa(options.opaPath, options.baseDir);
  const opaStat = await stat(opa);
  const hash = createHash('sha256');
  hash.update(`${opa}\0${opaStat.size}\0${opaStat.mtimeMs}\0${options.entrypoint}\0`);
  for (const s of sources) hash.update(`${relative(options.baseDir, s.file)}\0${s.text}\0`);
  const digest = hash.digest('hex');
  const cacheDir = options.cacheDir ?? DEFAULT_CACHE_DIR;
  const cached = join(cacheDir, `${digest}.wasm`);
  try {
    return { wasm: await readFile(cached), hash: digest, sources, fromCache: true };
  } catch {
    // not compiled yet
  }
  const work = await mkdtemp(join(tmpdir(), 'pcl-rego-'));
  try {
    const out = join(work, 'bundle.tar.gz');
    const args = ['build', '-t', 'wasm', '-e', options.entrypoint, '-o', out, ...options.files.map((f) => relative(options.baseDir, f))];
    await new Promise<void>((resolve, reject) => {
      execFile(opa, args, { cwd: options.baseDir, timeout: BUILD_TIMEOUT_MS, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
        if (!err) return resolve();
        // opa prints its diagnostics (with file:line) on stdout or stderr depending on the version.
        const detail = `${String(stderr).trim()}\n${String(stdout).trim()}`.trim() || err.message;
        reject(new GatewayError(ErrorCodes.POLICY_COMPILE, `${label}Rego does not compile (opa build):\n${detail}`, { cause: err }));
      });
    });
    const wasm = readFromTarGz(await readFile(out), 'policy.wasm');
    if (!wasm) throw new GatewayError(ErrorCodes.POLICY_COMPILE, `${label}opa build produced no policy.wasm`);
    await mkdir(cacheDir, { recursive: true });
    // Written then renamed, so a concurrent reader never sees half a module.
    const partial = `${cached}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(partial, wasm);
    await rename(partial, cached);
    return { wasm, hash: digest, sources, fromCache: false };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
