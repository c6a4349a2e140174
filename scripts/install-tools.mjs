#!/usr/bin/env node
// Installs the tools the gateway runs beside Node: the OPA compiler that turns Rego into WebAssembly (and, for the
// telemetry tests, Jaeger and promtool). Runs as
// npm's postinstall and never fails the install: without OPA everything works except Rego policies, and the
// gateway then says how to get it.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

// Observability test tools: Jaeger v2 (the trace backend the telemetry tests and examples/telemetry query) and
// promtool (`promtool check metrics` on /metrics). `go install` refuses their modules' replace directives, so each
// is built from a small tool module: `go get -tool <pkg>@<version>`, then `go build`. Only the tests and the
// example need them; the gateway runs without.
const GO_TOOLS = [
  { name: 'jaeger', pkg: 'github.com/jaegertracing/jaeger/cmd/jaeger', version: 'v1.76.0' },
  { name: 'promtool', pkg: 'github.com/prometheus/prometheus/cmd/promtool', version: 'v0.307.3' },
];

function installGoTools() {
  for (const tool of GO_TOOLS) {
    const file = join(bin, process.platform === 'win32' ? `${tool.name}.exe` : tool.name);
    if (executable(file)) {
      say(`${tool.name} found at ${file}: nothing to install`);
      continue;
    }
    const manual = `build it with Go: in an empty folder run "go mod init tool && go get -tool ${tool.pkg}@${tool.version} && go build -o ${file} ${tool.pkg}". Only the telemetry tests and examples/telemetry need it.`;
    const go = spawnSync('go', ['version'], { encoding: 'utf8' });
    if (go.error || go.status !== 0) {
      say(`${tool.name} is not installed and Go is not available: ${manual}`);
      continue;
    }
    const dir = mkdtempSync(join(tmpdir(), `portcullis-${tool.name}-`));
    say(`building ${tool.name} ${tool.version} with ${go.stdout.trim()} into ${bin} (several minutes the first time)`);
    const run = (args) => spawnSync('go', args, { cwd: dir, stdio: 'inherit', env: { ...process.env, GOFLAGS: '-mod=mod' } }).status === 0;
    const ok = run(['mod', 'init', `portcullis-${tool.name}-tool`]) && run(['get', '-tool', `${tool.pkg}@${tool.version}`]) && run(['build', '-o', file, tool.pkg]);
    rmSync(dir, { recursive: true, force: true });
    say(ok ? `installed ${file}` : `could not build ${tool.name}: ${manual}`);
  }
}

try {
  mkdirSync(bin, { recursive: true });
  installGoTools();
} catch (err) {
  say(`could not install the observability test tools: ${err?.message ?? err}`);
}
process.exitCode = 0;
await import('./install-python.mjs').then((m) => m.installPython(), () => {});
