#!/usr/bin/env node
// Installs the one tool the gateway runs beside Node: the OPA compiler that turns Rego into WebAssembly. Runs as npm's
// postinstall and never fails the install: without OPA everything works except Rego policies, and the gateway then
// says how to get it. Tools only the tests need (Jaeger, promtool, the Python MCP SDK, the interop peers) are not
// installed here but by `npm run setup:test` (scripts/setup-test.mjs), so a user's install stays short.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const OPA_VERSION = 'v1.22.2';
const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, '.tools', 'bin');
const exe = process.platform === 'win32' ? 'opa.exe' : 'opa';

const executable = (file) => {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};
const onPath = (name) => (process.env.PATH ?? '').split(delimiter).some((d) => d && executable(join(d, name)));
const say = (text) => process.stdout.write(`[portcullis install-tools] ${text}\n`);

function main() {
  if (onPath(exe)) return say('opa found on PATH: nothing to install');
  if (executable(join(bin, exe))) return say(`opa found at ${join(bin, exe)}: nothing to install`);
  const manual =
    `download opa ${OPA_VERSION} from https://github.com/open-policy-agent/opa/releases into ${bin} (or anywhere on PATH), ` +
    'or install Go and run "node scripts/install-tools.mjs" again. Only Rego authorization policies need it.';
  const go = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (go.error || go.status !== 0) return say(`opa is not installed and Go is not available: ${manual}`);
  mkdirSync(bin, { recursive: true });
  say(`installing opa ${OPA_VERSION} with ${go.stdout.trim()} into ${bin} (a few minutes the first time)`);
  const r = spawnSync('go', ['install', `github.com/open-policy-agent/opa@${OPA_VERSION}`], {
    stdio: 'inherit',
    env: { ...process.env, GOBIN: bin },
  });
  if (r.status !== 0) return say(`go install failed (exit ${r.status}): ${manual}`);
  say(`installed ${join(bin, exe)}`);
}

try {
  main();
} catch (err) {
  say(`could not install opa: ${err?.message ?? err}`);
}
