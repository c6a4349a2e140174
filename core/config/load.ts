import { redactString, telemetryEnvIssues } from '../telemetry/index.ts';
import { randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, extname, resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import type { GatewayConfig } from '../../sdk-types/config.ts';
import { ErrorCodes, GatewayError } from '../errors.ts';
import type { PolicyDefinition } from '../pipeline/index.ts';
import { fromAgentgateway } from './agentgateway.ts';
import { esbuildFailure, localInputs, SDK_ENTRY } from './esbuild.ts';
import type { BackendKinds } from './backend-kinds.ts';
import { gatewaySchema } from './gateway-schema.ts';
import { resolveConfig, type ResolvedConfig } from './resolve.ts';
import { formatIssues, type Issue } from '../schema/index.ts';
import { withWorkingDirFallback } from './paths.ts';
import { lazy } from '../lazy.ts';
import { expandEnv } from './env-expand.ts';

// YAML (agentgateway configs) is parsed by a package loaded on first use: TypeScript configs never load it.
const yaml = lazy<typeof import('yaml')>('yaml');


export interface LoadedConfig {
  config: ResolvedConfig;
  /** The config file and every local file it depends on: what hot reload watches. */
  files: string[];
  /** Things the user should know about the load (a path found in the working directory instead): logged at start. */
  notices?: string[];
}

/** Thrown when the config does not validate; `issues` has every problem with its path. */
export class ConfigValidationError extends GatewayError {
  readonly issues: Issue[];
  constructor(file: string, issues: Issue[]) {
    // A message may quote what was written (a malformed Redis URL with its password): redacted before anyone sees it.
    const shown = issues.map((i) => ({ ...i, message: redactString(i.message) }));
    super(ErrorCodes.CONFIG_INVALID, `invalid configuration in ${file}:\n${formatIssues(shown)}`);
    this.issues = shown;
  }
}

/**
 * Reads, validates and resolves a config file: TypeScript/JavaScript, or YAML/JSON in agentgateway's format. The
 * policies and backend kinds it may use are handed in by the composition root.
 */
export async function loadConfig(file: string, policies: readonly PolicyDefinition[], backends: BackendKinds): Promise<LoadedConfig> {
  const absolute = resolvePath(file);
  const { raw, files, translation } = await readConfigSource(absolute);
  const config = validateConfig(raw, policies, backends, absolute, translation);
  const notices: string[] = [];
  const resolved = resolveConfig(withWorkingDirFallback(config, dirname(absolute), process.cwd(), notices), dirname(absolute), backends);
  return { config: resolved, files: [...new Set([...files, ...policyFiles(resolved, policies)])], notices };
}

/**
 * Validates and resolves a config given as an object (`createGateway(config)`): the same checks as a file's, with
 * relative paths taken from `baseDir`. What it returns watches only the local files its policies name.
 */
export function loadConfigObject(raw: unknown, policies: readonly PolicyDefinition[], backends: BackendKinds, baseDir: string): LoadedConfig {
  const config = validateConfig(raw, policies, backends, 'the config object');
  const resolved = resolveConfig(config, resolvePath(baseDir), backends);
  return { config: resolved, files: policyFiles(resolved, policies) };
}

/**
 * Everything `portcullis validate` reports, in one run: the agentgateway translation, the schema with its cross-key
 * rules, and, when the config can be resolved at all, the files and commands it names. Throws only when the file
 * cannot be read, parsed or evaluated (then there is nothing to check).
 */
export async function checkConfigFile(
  file: string,
  policies: readonly PolicyDefinition[],
  backends: BackendKinds,
  checkLocal: (config: ResolvedConfig) => Issue[],
): Promise<{ issues: Issue[]; notices: string[]; config?: ResolvedConfig; localChecked: boolean }> {
  const absolute = resolvePath(file);
  const { raw, translation } = await readConfigSource(absolute);
  let issues: Issue[] = [];
  try {
    validateConfig(raw, policies, backends, absolute, translation);
  } catch (err) {
    if (!(err instanceof ConfigValidationError)) throw err;
    issues = err.issues;
  }
  const notices: string[] = [];
  let config: ResolvedConfig | undefined;
  try {
    config = resolveConfig(withWorkingDirFallback(raw as GatewayConfig, dirname(absolute), process.cwd(), notices), dirname(absolute), backends);
  } catch (err) {
    // A config with schema errors may not resolve; one without them must.
    if (issues.length === 0) throw err;
  }
  let localChecked = false;
  if (config) {
    try {
      issues.push(...checkLocal(config).map((i) => ({ ...i, stage: i.stage ?? ('files' as const) })));
      localChecked = true;
    } catch (err) {
      if (issues.length === 0) throw err;
    }
  }
  // Warnings (a stdio command missing on this machine) leave the config valid.
  return { issues, notices, config: issues.every((i) => i.severity === 'warning') ? config : undefined, localChecked };
}

/**
 * Checks a raw config against the schema; throws ConfigValidationError listing every issue. `earlier` are issues
 * found before (agentgateway features Portcullis does not have): reported together, with the schema's issues that
 * only repeat them (the object that held a refused feature is now incomplete) left out.
 */
export function validateConfig(raw: unknown, policies: readonly PolicyDefinition[], backends: BackendKinds, file = 'config', earlier: readonly Issue[] = []): GatewayConfig {
  const issues: Issue[] = [];
  gatewaySchema(policies, backends).check(raw, '', issues);
  // The environment variables the config leaves tracing and Langfuse to (a malformed one refuses the start too).
  issues.push(...telemetryEnvIssues(raw));
  const emptied = (i: Issue) => i.message.startsWith('expected exactly one of') || i.message.startsWith('a route needs at least one backend');
  const consequence = (i: Issue) => emptied(i) && earlier.some((e) => e.path.startsWith(`${i.path}.`) || e.path.startsWith(`${i.path}[`));
  const all = [...earlier, ...issues.filter((i) => !consequence(i))];
  if (all.length > 0) throw new ConfigValidationError(file, all);
  return raw as GatewayConfig;
}

/** The raw config object of a file, the local files it was built from, and agentgateway features left out of it. */
async function readConfigSource(absolute: string): Promise<{ raw: unknown; files: string[]; translation: Issue[] }> {
  const ext = extname(absolute).toLowerCase();
  const translation: Issue[] = [];
  if (['.ts', '.mts', '.js', '.mjs'].includes(ext)) {
    const { raw, files } = await importModuleConfig(absolute);
    return { raw, files, translation };
  }
  if (['.yaml', '.yml', '.json'].includes(ext)) {
    const raw = fromAgentgateway(await readDataFile(absolute), translation);
    return { raw, files: [absolute], translation: translation.map((i) => ({ ...i, stage: i.stage ?? ('agentgateway' as const) })) };
  }
  throw new GatewayError(
    ErrorCodes.CONFIG_LOAD,
    `cannot load ${absolute}: unknown extension "${ext}" (use .ts, .mts, .js, .mjs, .yaml, .yml or .json)`,
  );
}

function policyFiles(config: ResolvedConfig, definitions: readonly PolicyDefinition[]): string[] {
  const out: string[] = [];
  for (const bind of config.binds) {
    for (const listener of bind.listeners) {
      if (listener.tls) out.push(listener.tls.cert, listener.tls.key);
      for (const policies of [listener.policies, ...listener.routes.map((r) => r.policies)]) {
        for (const def of definitions) {
          const value = (policies as Record<string, unknown>)[def.name];
          if (value !== undefined && def.files) out.push(...def.files(value, config.baseDir));
        }
      }
    }
  }
  return out;
}

async function readDataFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new GatewayError(ErrorCodes.CONFIG_LOAD, `cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  // agentgateway expands $VAR / ${VAR} in the whole text before parsing; so do we, with the same rule.
  const expanded = expandEnv(text);
  if (expanded.issues.length > 0) throw new ConfigValidationError(file, expanded.issues);
  text = expanded.text;
  // YAML is a superset of JSON, so one parser serves both and reports line and column for either.
  const doc = yaml().parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new GatewayError(ErrorCodes.CONFIG_LOAD, `cannot parse ${file}:\n${doc.errors.map((e) => e.message).join('\n')}`);
  }
  return doc.toJS();
}

/**
 * Bundles a TypeScript/JavaScript config with esbuild (bare imports stay external, `portcullis` itself is bundled
 * so the config works outside this repository), imports the bundle, and returns the default export's value.
 */
async function importModuleConfig(file: string): Promise<{ raw: unknown; files: string[] }> {
  let result;
  try {
    result = await build({
      entryPoints: [file],
      absWorkingDir: dirname(file),
      bundle: true,
      write: false,
      platform: 'node',
      format: 'esm',
      target: 'node24',
      packages: 'external',
      alias: { portcullis: SDK_ENTRY },
      metafile: true,
      sourcemap: 'inline',
      logLevel: 'silent',
    });
  } catch (err) {
    throw new GatewayError(ErrorCodes.CONFIG_LOAD, `cannot bundle ${file}:\n${esbuildFailure(err)}`, { cause: err });
  }
  const files = localInputs(result.metafile, dirname(file));
  // Written beside the config so its bare imports resolve from the user's node_modules.
  const bundled = `${file}.timestamp-${Date.now()}-${randomBytes(4).toString('hex')}.mjs`;
  await writeFile(bundled, result.outputFiles[0].contents);
  let mod: { default?: unknown };
  try {
    mod = await import(pathToFileURL(bundled).href);
  } catch (err) {
    throw new GatewayError(ErrorCodes.CONFIG_LOAD, `cannot evaluate ${file}: ${(err as Error).message}`, { cause: err });
  } finally {
    await rm(bundled, { force: true });
  }
  let value = mod.default;
  if (value === undefined) {
    throw new GatewayError(ErrorCodes.CONFIG_LOAD, `${file} has no default export: write "export default defineConfig({ ... })"`);
  }
  if (typeof value === 'function') {
    try {
      value = await (value as () => unknown)();
    } catch (err) {
      throw new GatewayError(ErrorCodes.CONFIG_LOAD, `the config function in ${file} threw: ${(err as Error).message}`, { cause: err });
    }
  }
  return { raw: value, files };
}
