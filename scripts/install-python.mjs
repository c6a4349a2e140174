#!/usr/bin/env node
// Provides the Python MCP client the tests use as an independent client: a project-local virtual environment in
// .tools/python with the official `mcp` package, without touching the system's Python. Runs from `npm run
// setup:test` (scripts/setup-test.mjs), not from `npm install`: only tests need it. Never fails: without it the
// Python-client tests fail and say to run `npm run setup:test`.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MCP_REQUIREMENT = 'mcp>=1.20';
const root = fileURLToPath(new URL('..', import.meta.url));
const venv = join(root, '.tools', 'python');
const python = join(venv, 'bin', 'python3');
const say = (text) => process.stdout.write(`[setup:test] ${text}\n`);
const run = (cmd, args) => spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** The venv's interpreter, for tests: null when the install step could not provide it. */
export function venvPython() {
  return existsSync(python) ? python : null;
}

function main() {
  if (existsSync(python) && run(python, ['-c', 'import mcp']).status === 0) return say(`the Python MCP SDK is ready in ${venv}`);
  const system = run('python3', ['--version']);
  if (system.error || system.status !== 0) return say('python3 is not available: the Python-client test will say how to install it');
  if (!existsSync(python)) {
    const made = run('python3', ['-m', 'venv', venv]);
    if (made.status !== 0) {
      return say(`could not create ${venv} (${(made.stderr || made.stdout).trim().split('\n').pop()}); on Debian/Ubuntu: apt-get install python3-venv, then run "npm run setup:test"`);
    }
  }
  say(`installing ${MCP_REQUIREMENT} into ${venv}`);
  const pip = run(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', MCP_REQUIREMENT]);
  if (pip.status !== 0) return say(`pip install failed: ${(pip.stderr || pip.stdout).trim().split('\n').slice(-3).join(' / ')}; run "npm run setup:test" again once the network allows`);
  say('installed');
}

/** Creates or completes the venv; never throws. */
export function installPython() {
  try {
    main();
  } catch (err) {
    say(`could not provide the Python MCP SDK: ${err?.message ?? err}`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  installPython();
  process.exitCode = 0;
}
