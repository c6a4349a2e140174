import { readFileSync } from 'node:fs';
import { POLICY_USAGE } from './policy.ts';

/** The package's version, from the package.json two folders up (true of core/cli/ and of dist/gateway/ alike). */
export function version(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

export const EXIT_CODES = `Exit codes:
  0   done: the config is valid (validate), the gateway stopped after SIGTERM/SIGINT (start, dev), help printed
  1   the config is invalid or cannot be loaded, or the gateway could not start (a busy port, a missing file)
  2   the command line is wrong (unknown command or option, a malformed value): the usage is printed
`;

const CONFIG_OPTIONS = `  -c, --config <file>   gateway.config.ts (default: the first of gateway.config.ts, .mts, .js, .mjs, config.yaml
                        in the working directory), or a .yaml/.yml/.json in agentgateway's format
  -f, --file <file>     same as --config
  -h, --help            this text`;

const SERVE_OPTIONS = `      --no-watch        do not reload on file changes
      --log-level <l>   trace, debug, info, warn, error
      --admin <addr>    admin server address (host:port, or off), instead of the config's admin.address
      --readiness <addr>  readiness server address (host:port, or off), instead of readiness.address
      --stats <addr>    metrics server address (host:port, or off), instead of the config's stats address`;

export const USAGE = `Usage: portcullis [command] [options]

Commands:
  start       serve the config, reloading it when it or a file it uses changes (default)
  dev         like start, with readable logs at debug level
  validate    check the config and exit: 0 when valid, 1 with every error, grouped by check
  policy      test or evaluate the config's Rego authorization policies
  help [cmd]  this text, or the options of one command
  version     the version of portcullis (also --version, -v)

Run "portcullis help <command>" or "portcullis <command> --help" for a command's options.

Options:
${CONFIG_OPTIONS}
  -v, --version         the version of portcullis

${EXIT_CODES}`;

/** `portcullis <command> --help` and `portcullis help <command>`. */
export const COMMAND_USAGE: Record<string, string> = {
  start: `Usage: portcullis start [options]

Serves the config, and reloads it when it or any local file it uses changes (a broken edit is reported and the
previous config keeps serving). SIGTERM or SIGINT drains in-flight requests, then exits 0.

Options:
${CONFIG_OPTIONS}
${SERVE_OPTIONS}

${EXIT_CODES}`,
  dev: `Usage: portcullis dev [options]

Like start, with readable (pretty) logs at debug level.

Options:
${CONFIG_OPTIONS}
${SERVE_OPTIONS}

${EXIT_CODES}`,
  validate: `Usage: portcullis validate [options]

Checks the config without serving it, and reports every error in one run, grouped by check:
  agentgateway  features of an agentgateway YAML config that Portcullis does not have
  schema        unknown keys, wrong types, missing or conflicting settings, with their paths
  backends      what a route serves (one MCP or A2A backend, no mixing) and the policies that may act on it
  names         route and listener names, and ports, used twice
  files         files the config names (certificates, JWKS, keys, Rego, filters) and stdio commands

A stdio command missing on this machine is a warning (exit 0): the config runs where the command exists.

Options:
${CONFIG_OPTIONS}
      --strict          a stdio command missing on this machine is an error (exit 1)

${EXIT_CODES}`,
  policy: `${POLICY_USAGE}
${EXIT_CODES}`,
  help: `Usage: portcullis help [command]

Prints the usage, or the options of one command (start, dev, validate, policy, version).
`,
  version: `Usage: portcullis version (or --version, -v)

Prints the version of portcullis.
`,
};
