import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { configFileOf, DEFAULT_CONFIG_FILES, parseCommandLine } from './args.ts';
import type { AuthorizationPolicy } from '../../sdk-types/security.ts';
import { loadConfig, type BackendKinds } from '../config/index.ts';
import { isGatewayError } from '../errors.ts';
import type { PolicyDefinition } from '../pipeline/index.ts';
import { compileRego, findOpa, loadRegoData, loadRegoPolicy, RegoEvalError } from '../rego/index.ts';
import { lazy } from '../lazy.ts';

// Loaded when `policy test` reads its input.
const yaml = lazy<typeof import('yaml')>('yaml');

export const POLICY_USAGE = `Usage: portcullis policy <test|eval> [options]

  policy test                   run the Rego unit tests (*_test.rego beside each policy file) with opa test
  policy eval --input <file>    print the decision of every authorization policy of the config for one input
                                (JSON or YAML, shaped like AuthorizationInput in sdk-types/authorization.ts)

Options:
  -c, --config <file>   the gateway config (default: gateway.config.ts)
      --route <name>    only the authorization policy of this route
  -h, --help            this text
`;

const DEFAULT_ENTRYPOINT = 'authz/allow';
const OPA_TEST_TIMEOUT_MS = 120_000;

/** One distinct authorization policy of the config, with the routes that use it. */
interface PolicySet {
  routes: string[];
  rego: string[];
  data: string[];
  entrypoint: string;
  opaPath?: string;
  baseDir: string;
}

const list = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

async function policySets(configFile: string, policies: readonly PolicyDefinition[], backends: BackendKinds, route?: string): Promise<PolicySet[]> {
  const { config } = await loadConfig(configFile, policies, backends);
  const sets = new Map<string, PolicySet>();
  for (const bind of config.binds) {
    for (const listener of bind.listeners) {
      for (const r of listener.routes) {
        const authz = (r.policies.authorization ?? listener.policies.authorization) as AuthorizationPolicy | undefined;
        // CEL-only authorization (agentgateway's `rules`) has no Rego to test or evaluate here.
        if (!authz?.rego || (route !== undefined && r.name !== route)) continue;
        const set: PolicySet = {
          routes: [],
          rego: list(authz.rego).map((f) => resolve(config.baseDir, f)),
          data: list(authz.data).map((f) => resolve(config.baseDir, f)),
          entrypoint: authz.entrypoint ?? DEFAULT_ENTRYPOINT,
          opaPath: authz.opaPath,
          baseDir: config.baseDir,
        };
        const key = JSON.stringify([set.rego, set.data, set.entrypoint]);
        const existing = sets.get(key) ?? set;
        existing.routes.push(r.name);
        sets.set(key, existing);
      }
    }
  }
  return [...sets.values()];
}

/** The `_test.rego` files next to a policy's files: the convention `opa test` users follow. */
function testFiles(rego: readonly string[]): string[] {
  const dirs = [...new Set(rego.map((f) => dirname(f)))];
  return dirs.flatMap((d) => readdirSync(d).filter((f) => f.endsWith('_test.rego')).map((f) => join(d, f)));
}

async function runTests(sets: PolicySet[], out: NodeJS.WritableStream): Promise<number> {
  let failed = 0;
  for (const set of sets) {
    const tests = testFiles(set.rego).filter((t) => !set.rego.includes(t));
    out.write(`# routes ${set.routes.join(', ')}: ${[...set.rego, ...tests].map((f) => basename(f)).join(', ')}\n`);
    if (tests.length === 0) {
      out.write('no *_test.rego files beside the policy: nothing to test\n');
      continue;
    }
    const opa = findOpa(set.opaPath, set.baseDir);
    const code = await new Promise<number>((done) => {
      const child = execFile(opa, ['test', '-v', ...set.rego, ...tests, ...set.data], { cwd: set.baseDir, timeout: OPA_TEST_TIMEOUT_MS }, (err) => {
        done(err ? ((err as { code?: number }).code ?? 1) : 0);
      });
      child.stdout?.pipe(out, { end: false });
      child.stderr?.pipe(out, { end: false });
    });
    if (code !== 0) failed++;
  }
  return failed === 0 ? 0 : 1;
}

async function evaluate(sets: PolicySet[], inputFile: string, out: NodeJS.WritableStream): Promise<number> {
  const doc = yaml().parseDocument(await readFile(inputFile, 'utf8'));
  if (doc.errors.length > 0) throw new Error(`cannot parse ${inputFile}: ${doc.errors[0].message}`);
  const input = doc.toJS();
  let status = 0;
  for (const set of sets) {
    const compiled = await compileRego({ files: set.rego, entrypoint: set.entrypoint, baseDir: set.baseDir, opaPath: set.opaPath });
    const policy = await loadRegoPolicy({ wasm: compiled.wasm, entrypoint: set.entrypoint, data: await loadRegoData(set.data), sources: compiled.sources });
    try {
      const decision = policy.evaluate(input);
      out.write(`${JSON.stringify({ routes: set.routes, entrypoint: set.entrypoint, ...decision })}\n`);
    } catch (err) {
      if (!(err instanceof RegoEvalError)) throw err;
      // What the gateway would do: deny.
      out.write(`${JSON.stringify({ routes: set.routes, entrypoint: set.entrypoint, allow: false, error: err.message })}\n`);
      status = 1;
    }
  }
  return status;
}

/** `portcullis policy ...`: the Rego of the config, tested and evaluated outside the gateway. */
export async function policyCommand(argv: string[], policies: readonly PolicyDefinition[], backends: BackendKinds): Promise<number> {
  const parsed = parseCommandLine(argv, { input: { type: 'string', short: 'i' }, route: { type: 'string' } }, POLICY_USAGE);
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  const sub = positionals[0];
  if ((sub !== 'test' && sub !== 'eval') || positionals.length > 1) {
    process.stderr.write(`unknown policy command "${positionals.join(' ')}"\n\n${POLICY_USAGE}`);
    return 2;
  }
  if (sub === 'eval' && !values.input) {
    process.stderr.write(`policy eval needs --input <file>\n\n${POLICY_USAGE}`);
    return 2;
  }
  const named = configFileOf(values);
  const configFile = named && resolve(named);
  if (!configFile || !existsSync(configFile)) {
    process.stderr.write(`no config file ${configFile ?? `(none of ${DEFAULT_CONFIG_FILES.join(', ')} here)`}: pass -c <file>\n`);
    return 1;
  }
  try {
    const sets = await policySets(configFile, policies, backends, values.route);
    if (sets.length === 0) {
      process.stderr.write(`${configFile}: no authorization policy${values.route ? ` on route "${values.route}"` : ''}\n`);
      return 1;
    }
    return sub === 'test' ? await runTests(sets, process.stdout) : await evaluate(sets, resolve(values.input!), process.stdout);
  } catch (err) {
    process.stderr.write(`${isGatewayError(err) ? `${err.code}: ${err.message}` : (err as Error).message}\n`);
    return 1;
  }
}
