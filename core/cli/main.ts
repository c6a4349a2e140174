// The composition root: the one place where the core meets the built-in policies.
import { builtinPolicies } from '../../policies/index.ts';
import { builtinBackends } from '../gateway/index.ts';
import { resolve } from 'node:path';
import { configFileOf, DEFAULT_CONFIG_FILES, parseCommandLine } from './args.ts';
import { policyCommand } from './policy.ts';
import { ErrorCodes, isGatewayError } from '../errors.ts';
import { createPeerChannel, startGateway } from '../cluster/index.ts';
import { addressOverrides } from './overrides.ts';
import { checkLocalInputs } from '../config/checks.ts';
import { formatIssues, ISSUE_STAGES } from '../schema/index.ts';
import { checkConfigFile } from '../config/load.ts';
import { COMMAND_USAGE, USAGE, version } from './usage.ts';

const SERVE_OPTIONS = { strict: { type: 'boolean' }, 'no-watch': { type: 'boolean' }, 'log-level': { type: 'string' }, admin: { type: 'string' }, readiness: { type: 'string' }, stats: { type: 'string' } } as const;

export async function main(argv: string[]): Promise<number> {
  const first = argv[0];
  if (first === '--version' || first === '-v' || first === 'version') {
    if (argv.length > 1 && !(argv.length === 2 && (argv[1] === '--help' || argv[1] === '-h'))) return usageError(`"${first}" takes no arguments`, USAGE);
    if (argv.length === 2) process.stdout.write(COMMAND_USAGE.version);
    else process.stdout.write(`portcullis ${version()}\n`);
    return 0;
  }
  if (first === 'help') {
    const topic = argv[1];
    if (argv.length > 2) return usageError(`help takes at most one command, got "${argv.slice(1).join(' ')}"`, USAGE);
    if (topic === undefined) {
      process.stdout.write(USAGE);
      return 0;
    }
    const usage = COMMAND_USAGE[topic];
    if (!usage) return usageError(`no such command "${topic}" (commands: ${Object.keys(COMMAND_USAGE).join(', ')})`, USAGE);
    process.stdout.write(usage);
    return 0;
  }
  if (first === 'policy') return policyCommand(argv.slice(1), builtinPolicies, builtinBackends);
  // The command's own usage for its --help and its mistakes: "portcullis validate --help" explains validate.
  const named = argv.find((a) => !a.startsWith('-'));
  const commandUsage = (named !== undefined && COMMAND_USAGE[named]) || USAGE;
  const parsed = parseCommandLine(argv, SERVE_OPTIONS, commandUsage);
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  const overrides = addressOverrides(values);
  if (typeof overrides === 'string') {
    return usageError(overrides, commandUsage);
  }
  const command = positionals[0] ?? 'start';
  if (!['start', 'dev', 'validate'].includes(command)) return usageError(`unknown command "${positionals.join(' ')}"`, USAGE);
  if (positionals.length > 1) return usageError(`${command} takes no arguments, got "${positionals.slice(1).join(' ')}"`, commandUsage);
  if (values.strict && command !== 'validate') return usageError('--strict is an option of validate', commandUsage);
  const configFile = configFileOf(values);
  if (!configFile) {
    process.stderr.write(`no config file: pass -c <file>, or create one of ${DEFAULT_CONFIG_FILES.join(', ')} in ${process.cwd()}\n`);
    return 1;
  }

  if (command === 'validate') return validate(configFile, values.strict === true);

  const dev = command === 'dev';
  try {
    const running = await startGateway({
      configFile: resolve(configFile),
      policies: builtinPolicies,
      backends: builtinBackends,
      peers: createPeerChannel,
      watch: !values['no-watch'],
      logLevel: values['log-level'] ?? (dev ? 'debug' : undefined),
      logFormat: dev ? 'pretty' : undefined,
      transform: overrides,
    });
    await new Promise<void>((done) => {
      let stopping = false;
      const stop = (signal: string) => {
        // Ctrl-C reaches every process of the group, and the wrapper forwards it too: a second signal while
        // draining must not fall through to Node's default action, which would exit without draining.
        if (stopping) return;
        stopping = true;
        running.logger.info({ signal, drainTimeoutMs: running.drainTimeoutMs }, 'shutting down: draining in-flight requests');
        running.close().then(() => {
          running.logger.info('stopped');
          running.logger.flush();
          done();
        });
      };
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    });
    return 0;
  } catch (err) {
    process.stderr.write(`portcullis: ${describe(err)}\n`);
    return 1;
  }
}

async function validate(configFile: string, strict: boolean): Promise<number> {
  try {
    const checked = await checkConfigFile(resolve(configFile), builtinPolicies, builtinBackends, (c) => checkLocalInputs(c, builtinPolicies));
    const { notices, localChecked } = checked;
    // A warning is true of this machine only (a stdio command it lacks); --strict makes it an error.
    const warnings = strict ? [] : checked.issues.filter((i) => i.severity === 'warning');
    const issues = checked.issues.filter((i) => !warnings.includes(i));
    const config = issues.length === 0 ? checked.config : undefined;
    for (const notice of notices) process.stderr.write(`note: ${notice}\n`);
    for (const w of warnings) process.stderr.write(`warning: ${w.path}: ${w.message} (the config is valid and runs where the command exists; --strict makes this an error)\n`);
    if (issues.length > 0 || !config) {
      const groups = ISSUE_STAGES.map((stage) => [stage, issues.filter((i) => (i.stage ?? 'schema') === stage)] as const).filter(([, list]) => list.length > 0);
      const lines = groups.map(([stage, list]) => `${stage} (${list.length}):\n${formatIssues(list).replace(/^/gm, '  ')}`);
      if (!localChecked) lines.push('files: not checked (the config could not be resolved: fix the errors above first)');
      const count = `${issues.length} error${issues.length === 1 ? '' : 's'}`;
      process.stderr.write(`${ErrorCodes.CONFIG_INVALID}: invalid configuration in ${configFile} (${count}):\n${lines.join('\n')}\n`);
      return 1;
    }
    const routes = config.binds.reduce((n, b) => n + b.listeners.reduce((m, l) => m + l.routes.length, 0), 0);
    process.stdout.write(`${configFile}: valid (${config.binds.length} bind(s), ${routes} route(s))\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`${describe(err)}\n`);
    return 1;
  }
}

function usageError(message: string, usage: string): number {
  process.stderr.write(`${message}\n\n${usage}`);
  return 2;
}

function describe(err: unknown): string {
  if (isGatewayError(err)) return `${err.code}: ${err.message}`;
  return (err as Error)?.stack ?? String(err);
}
