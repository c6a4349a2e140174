// The composition root: the one place where the core meets the built-in policies.
import { builtinPolicies } from '../../policies/index.ts';
import { loadConfig } from '../config/load.ts';
import { resolve } from 'node:path';
import { configFileOf, DEFAULT_CONFIG_FILES, parseCommandLine } from './args.ts';
import { policyCommand } from './policy.ts';
import { ErrorCodes, isGatewayError } from '../errors.ts';
import { startGateway } from '../cluster/index.ts';
import { addressOverrides } from './overrides.ts';
import { checkLocalInputs } from '../config/checks.ts';
import { formatIssues } from '../config/schema.ts';

const USAGE = `Usage: portcullis [command] [options]

Commands:
  start       serve the config, reloading it when it or a file it uses changes (default)
  dev         like start, with readable logs at debug level
  validate    check the config and exit: 0 when valid, 1 with every error and its path
  policy      test or evaluate the config's Rego authorization policies (portcullis policy --help)

Options:
  -c, --config <file>   gateway.config.ts (default), or a .yaml/.yml/.json in agentgateway's format
  -f, --file <file>     same as --config
      --no-watch        do not reload on file changes
      --log-level <l>   trace, debug, info, warn, error
      --admin <addr>    admin server address (host:port, or off), instead of the config's admin.address
      --readiness <addr>  readiness server address (host:port, or off), instead of readiness.address
      --stats <addr>    metrics server address (host:port, or off), instead of the config's stats address
  -h, --help            this text
`;

export async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'policy') return policyCommand(argv.slice(1), builtinPolicies);
  const parsed = parseCommandLine(
    argv,
    { 'no-watch': { type: 'boolean' }, 'log-level': { type: 'string' }, admin: { type: 'string' }, readiness: { type: 'string' }, stats: { type: 'string' } },
    USAGE,
  );
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  const overrides = addressOverrides(values);
  if (typeof overrides === 'string') {
    process.stderr.write(`${overrides}\n\n${USAGE}`);
    return 2;
  }
  const command = positionals[0] ?? 'start';
  if (!['start', 'dev', 'validate'].includes(command) || positionals.length > 1) {
    process.stderr.write(`unknown command "${positionals.join(' ')}"\n\n${USAGE}`);
    return 2;
  }
  const configFile = configFileOf(values);
  if (!configFile) {
    process.stderr.write(`no config file: pass -c <file>, or create one of ${DEFAULT_CONFIG_FILES.join(', ')} in ${process.cwd()}\n`);
    return 1;
  }

  if (command === 'validate') return validate(configFile);

  const dev = command === 'dev';
  try {
    const running = await startGateway({
      configFile: resolve(configFile),
      policies: builtinPolicies,
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

async function validate(configFile: string): Promise<number> {
  try {
    const { config, notices } = await loadConfig(resolve(configFile), builtinPolicies);
    for (const notice of notices ?? []) process.stderr.write(`note: ${notice}\n`);
    const problems = checkLocalInputs(config, builtinPolicies);
    if (problems.length > 0) {
      process.stderr.write(`${ErrorCodes.CONFIG_INVALID}: invalid configuration in ${configFile} (start would fail on it):\n${formatIssues(problems)}\n`);
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

function describe(err: unknown): string {
  if (isGatewayError(err)) return `${err.code}: ${err.message}`;
  return (err as Error)?.stack ?? String(err);
}
