#!/usr/bin/env node
// Installs the one tool the gateway runs beside Node: the OPA compiler that turns Rego into WebAssembly. Runs as npm's
// postinstall and never fails the install: without it everything works except Rego policies, and the gateway then
// says how to get it. Tools only the tests need (Jaeger, promtool, the Python MCP SDK, the interop peers) are not
// installed here but by `npm run setup:test` (scripts/setup-test.mjs), so a user's install stays short.
//
// What it builds is tools/opa-compile: OPA's own compiler, loader and test runner behind the `opa build`, `opa parse`
// and `opa test` arguments the gateway passes, pinned with a committed go.sum. It links half of OPA's packages (no
// server, plugins or telemetry), and is compiled without Go's optimizer (-N -l): from an empty Go build cache on the
// shared 2-core host (load ~18) that takes 160 s, against 271 s optimized and 606 s for `go install` of all of OPA.
// Unoptimized, `opa build` of a policy is a few milliseconds slower, once per policy change (results are cached).
import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const OPA_VERSION = 'v1.22.2';
const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, '.tools', 'bin');
const source = join(root, 'tools', 'opa-compile');
const win = process.platform === 'win32';
const opa = win ? 'opa.exe' : 'opa';
const compiler = win ? 'opa-compile.exe' : 'opa-compile';

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
  if (onPath(opa)) return say('opa found on PATH: nothing to install');
  for (const file of [join(bin, compiler), join(bin, opa)]) {
    if (executable(file)) return say(`opa found at ${file}: nothing to install`);
  }
  const manual =
    `download opa ${OPA_VERSION} from https://github.com/open-policy-agent/opa/releases and put it on PATH, ` +
    'or install Go and run "node scripts/install-tools.mjs" again. Only Rego authorization policies need it.';
  const go = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (go.error || go.status !== 0) return say(`the OPA compiler is not installed and Go is not available: ${manual}`);
  mkdirSync(bin, { recursive: true });
  say(`building the OPA ${OPA_VERSION} compiler (tools/opa-compile) with ${go.stdout.trim()} into ${bin} (a few minutes the first time)`);
  const r = spawnSync('go', ['build', '-gcflags=all=-N -l', '-o', join(bin, compiler), '.'], {
    cwd: source,
    stdio: 'inherit',
    // The committed go.sum pins every module: readonly makes a mismatch an error, not a silent update. No VCS stamp:
    // a checkout without git (or a worktree git cannot read) must build too.
    env: { ...process.env, GOFLAGS: '-mod=readonly -buildvcs=false' },
  });
  if (r.status !== 0) return say(`go build failed (exit ${r.status}): ${manual}`);
  say(`installed ${join(bin, compiler)}`);
}

try {
  main();
} catch (err) {
  say(`could not install the OPA compiler: ${err?.message ?? err}`);
}
