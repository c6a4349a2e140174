import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ResolvedConfig } from '../config/index.ts';
import { ErrorCodes, GatewayError } from '../errors.ts';
import { compileRego, loadRegoData, loadRegoPolicy, RegoEvalError } from '../rego/index.ts';
import { redactSecrets } from './redact.ts';

/** One policy in use, on a listener (shared by the routes that do not set their own) or on a route. */
export interface PolicyEntry {
  scope: 'listener' | 'route';
  /** The listener's or route's name. */
  owner: string;
  /** Routes it applies to. */
  routes: string[];
  name: string;
  kind: 'rego' | 'cel' | 'filter' | 'policy';
  configPath: string;
  config: unknown;
  files: Array<{ path: string; source?: string; error?: string }>;
}

const FILTER_POLICIES = new Set(['filters', 'piiRedaction', 'toolArgumentRules', 'toolPinning', 'headerInjection']);
/** Sources shown in the browser: policy and filter code. Data files are listed by name only. */
const SHOWN_SOURCES = new Set(['.rego', '.ts', '.mts', '.js', '.mjs', '.cel']);
const MAX_SOURCE_BYTES = 64 * 1024;
const POLICY_TEST_TIMEOUT_MS = 120_000;
// From the repository root, so that the path holds from the JavaScript build (dist/gateway/) as well.
const BIN = fileURLToPath(new URL('../../core/cli/bin.mjs', import.meta.url));

const listOf = (v: unknown): string[] => (typeof v === 'string' ? [v] : Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/** The files a policy's config names (`rego`, `data`, `file` fields at any depth). */
function namedFiles(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) namedFiles(v, out);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'rego' || k === 'data' || k === 'file') out.push(...listOf(v));
      else if (typeof v === 'object') namedFiles(v, out);
    }
  }
  return out;
}

function kindOf(name: string, config: unknown): PolicyEntry['kind'] {
  if (name === 'authorization') {
    const c = config as { rego?: unknown; rules?: unknown };
    return c.rego !== undefined ? 'rego' : 'cel';
  }
  if (FILTER_POLICIES.has(name)) return 'filter';
  return 'policy';
}

async function fileEntry(path: string): Promise<PolicyEntry['files'][number]> {
  if (!SHOWN_SOURCES.has(extname(path))) return { path };
  try {
    const text = await readFile(path, 'utf8');
    return { path, source: text.length > MAX_SOURCE_BYTES ? `${text.slice(0, MAX_SOURCE_BYTES)}\n… (truncated)` : text };
  } catch (err) {
    return { path, error: (err as Error).message };
  }
}

/** Every policy of the running config, listener policies once with the routes that inherit them. */
export async function listPolicies(config: ResolvedConfig): Promise<PolicyEntry[]> {
  const out: PolicyEntry[] = [];
  for (const [bi, bind] of config.binds.entries()) {
    for (const [li, listener] of bind.listeners.entries()) {
      const lp = listener.policies as Record<string, unknown>;
      for (const [name, value] of Object.entries(lp)) {
        const routes = listener.routes.filter((r) => (r.policies as Record<string, unknown>)[name] === undefined).map((r) => r.name);
        out.push({
          scope: 'listener',
          owner: listener.name,
          routes,
          name,
          kind: kindOf(name, value),
          configPath: `binds[${bi}].listeners[${li}].policies.${name}`,
          config: redactSecrets(value, name),
          files: await Promise.all(namedFiles(value).map((f) => fileEntry(resolve(config.baseDir, f)))),
        });
      }
      for (const [ri, route] of listener.routes.entries()) {
        for (const [name, value] of Object.entries(route.policies as Record<string, unknown>)) {
          out.push({
            scope: 'route',
            owner: route.name,
            routes: [route.name],
            name,
            kind: kindOf(name, value),
            configPath: `binds[${bi}].listeners[${li}].routes[${ri}].policies.${name}`,
            config: redactSecrets(value, name),
            files: await Promise.all(namedFiles(value).map((f) => fileEntry(resolve(config.baseDir, f)))),
          });
        }
      }
    }
  }
  return out;
}

/** The authorization policy a route runs: its own, else its listener's. */
function authorizationOf(config: ResolvedConfig, routeName: string): { rego?: unknown; data?: unknown; entrypoint?: string; opaPath?: string } | undefined {
  for (const bind of config.binds) {
    for (const listener of bind.listeners) {
      const route = listener.routes.find((r) => r.name === routeName);
      if (route) return ((route.policies as Record<string, unknown>).authorization ?? (listener.policies as Record<string, unknown>).authorization) as never;
    }
  }
  throw new GatewayError(ErrorCodes.BAD_REQUEST, `route: no route named ${JSON.stringify(routeName)} in the running config`);
}

export interface EvalResult {
  route: string;
  entrypoint: string;
  allow: boolean;
  reason?: string;
  /** Set when the policy could not decide (the gateway then denies: fail closed). */
  error?: string;
}

/** Evaluates the route's Rego authorization policy for an input, as the gateway would. */
export async function evaluatePolicy(config: ResolvedConfig, routeName: string, input: unknown): Promise<EvalResult> {
  const authz = authorizationOf(config, routeName);
  if (!authz) throw new GatewayError(ErrorCodes.BAD_REQUEST, `route "${routeName}" has no authorization policy`);
  if (authz.rego === undefined) throw new GatewayError(ErrorCodes.BAD_REQUEST, `route "${routeName}": only Rego authorization policies can be evaluated here`);
  const entrypoint = authz.entrypoint ?? 'authz/allow';
  const files = listOf(authz.rego).map((f) => resolve(config.baseDir, f));
  const data = listOf(authz.data).map((f) => resolve(config.baseDir, f));
  const compiled = await compileRego({ files, entrypoint, baseDir: config.baseDir, opaPath: authz.opaPath, label: `route ${routeName}` });
  const policy = await loadRegoPolicy({ wasm: compiled.wasm, entrypoint, data: await loadRegoData(data), sources: compiled.sources });
  try {
    const d = policy.evaluate(input);
    return { route: routeName, entrypoint, allow: d.allow, ...(d.reason !== undefined ? { reason: d.reason } : {}) };
  } catch (err) {
    if (!(err instanceof RegoEvalError)) throw err;
    return { route: routeName, entrypoint, allow: false, error: err.message };
  }
}

export interface PolicyTestResult {
  exitCode: number;
  output: string;
}

/** Runs `portcullis policy test` on the running config file, as a user would from the shell. */
export function runPolicyTest(configFile: string, route?: string): Promise<PolicyTestResult> {
  const args = [BIN, 'policy', 'test', '-c', configFile, ...(route ? ['--route', route] : [])];
  return new Promise((done) => {
    execFile(process.execPath, args, { timeout: POLICY_TEST_TIMEOUT_MS, maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      done({ exitCode: code, output: `${stdout}${stderr}` });
    });
  });
}
