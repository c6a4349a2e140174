import { basename } from 'node:path';
import type { McpStdioTarget } from '../../../../sdk-types/config.ts';

/**
 * `npx <package>` run by a person at a terminal asks "Need to install the following packages ... Ok to proceed?"
 * and goes on when they answer yes. A stdio child has no terminal, so the same npx cancels ("npx canceled due to
 * missing packages and no YES option") and every session of the target fails. agentgateway's examples write
 * `cmd: npx` without `-y`; for them to run on a fresh machine the gateway answers yes as that person would, through
 * npm's own setting (`npm_config_yes=true` in the child's environment), unless the target opts out
 * (`autoInstall: false`), already says `-y`/`--yes`/`--no`, or sets `npm_config_yes` itself.
 */

const ANSWERS = new Set(['-y', '--yes', '--no', '--no-yes', '--yes=true', '--yes=false']);

function isNpx(cmd: string): boolean {
  const name = basename(cmd).toLowerCase();
  return name === 'npx' || name === 'npx.cmd';
}

/** The package npx would run: its first argument that is not an option (for the log). */
export function npxPackage(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') return args[i + 1];
    if (a === '-p' || a === '--package') return args[i + 1];
    if (a.startsWith('--package=')) return a.slice('--package='.length);
    if (!a.startsWith('-')) return a;
  }
  return undefined;
}

/** Whether the gateway answers npx's install prompt with yes for this target. */
export function npxAutoInstalls(stdio: Pick<McpStdioTarget, 'cmd' | 'args' | 'env' | 'autoInstall'>): boolean {
  if (stdio.autoInstall === false || !isNpx(stdio.cmd)) return false;
  const args = stdio.args ?? [];
  // Options after the package name belong to the package, not to npx.
  const end = args.findIndex((a) => a === '--' || !a.startsWith('-'));
  if (args.slice(0, end < 0 ? args.length : end).some((a) => ANSWERS.has(a))) return false;
  const env = stdio.env ?? {};
  return env.npm_config_yes === undefined && env.NPM_CONFIG_YES === undefined;
}

/** What the child's environment gains: npm's `yes` setting, which npx reads as the answer to its prompt. */
export function npxEnvironment(stdio: Pick<McpStdioTarget, 'cmd' | 'args' | 'env' | 'autoInstall'>): Record<string, string> {
  return npxAutoInstalls(stdio) ? { npm_config_yes: 'true' } : {};
}
