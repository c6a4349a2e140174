import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';

type Options = NonNullable<Parameters<typeof parseArgs>[0]>['options'] & {};

/** `-c/--config`, `-f/--file` and `-h/--help`: every command takes them. */
const COMMON = {
  config: { type: 'string', short: 'c' },
  file: { type: 'string', short: 'f' },
  help: { type: 'boolean', short: 'h' },
} as const;

/**
 * Parses a command line with the common options added. Returns an exit code instead when there is nothing more to
 * do: 0 after printing the usage for `--help`, 2 after printing the parse error and the usage.
 */
export function parseCommandLine<O extends Options>(argv: string[], options: O, usage: string) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { ...COMMON, ...options } });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${usage}`);
    return 2;
  }
  if ((parsed.values as { help?: boolean }).help) {
    process.stdout.write(usage);
    return 0;
  }
  return parsed;
}

export const DEFAULT_CONFIG_FILES = ['gateway.config.ts', 'gateway.config.mts', 'gateway.config.js', 'gateway.config.mjs', 'config.yaml'];

/**
 * The config file a command works on, as the user named it (for messages): `-c`/`-f`, else the first default that
 * exists in the working directory.
 */
export function configFileOf(values: { config?: string | boolean; file?: string | boolean }): string | undefined {
  const given = values.config ?? values.file;
  if (typeof given === 'string') return given;
  return DEFAULT_CONFIG_FILES.find((f) => existsSync(f));
}
