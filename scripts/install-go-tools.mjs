#!/usr/bin/env node
// Test tools: Jaeger v2 (the trace backend the telemetry tests and examples/telemetry query), promtool
// (`promtool check metrics` on /metrics) and Envoy's rate-limit service (the remoteRateLimit tests), built with Go
// into .tools/bin. `go install` refuses their modules' replace directives, so each is built from a small tool
// module: `go get -tool <pkg>@<version>`, then `go build`.
// Only the tests and the example need them; the gateway runs without, so `npm install` does not build them:
// `npm run setup:test` does (scripts/setup-test.mjs), or `node scripts/install-go-tools.mjs` alone. A tool already in
// .tools/bin is kept (the cache: delete it to rebuild).
import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, '.tools', 'bin');
const say = (text) => process.stdout.write(`[setup:test] ${text}\n`);

export const GO_TOOLS = [
  { name: 'jaeger', pkg: 'github.com/jaegertracing/jaeger/cmd/jaeger', version: 'v1.76.0' },
  { name: 'promtool', pkg: 'github.com/prometheus/prometheus/cmd/promtool', version: 'v0.307.3' },
  // Envoy's rate-limit service (the `remoteRateLimit` tests and agentgateway's traffic-ratelimiting-global example).
  // The module has no release tags: this pseudo-version is its main branch of 2026-01-22.
  { name: 'ratelimit', pkg: 'github.com/envoyproxy/ratelimit/src/service_cmd', version: 'v1.4.1-0.20260122083618-3fb702589d36' },
];

const executable = (file) => {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** Builds each missing tool; returns { name: 'cached' | 'built' | 'failed: why' }. Never throws. */
export function installGoTools() {
  const status = {};
  try {
    mkdirSync(bin, { recursive: true });
    for (const tool of GO_TOOLS) {
      const file = join(bin, process.platform === 'win32' ? `${tool.name}.exe` : tool.name);
      if (executable(file)) {
        say(`${tool.name.padEnd(12)} cached (${file})`);
        status[tool.name] = 'cached';
        continue;
      }
      const manual = `build it with Go: in an empty folder run "go mod init tool && go get -tool ${tool.pkg}@${tool.version} && go build -o ${file} ${tool.pkg}". Only the tests (and examples/telemetry) need it.`;
      const go = spawnSync('go', ['version'], { encoding: 'utf8' });
      if (go.error || go.status !== 0) {
        say(`${tool.name.padEnd(12)} failed: Go is not available: ${manual}`);
        status[tool.name] = 'failed: Go is not available';
        continue;
      }
      const started = Date.now();
      const dir = mkdtempSync(join(tmpdir(), `portcullis-${tool.name}-`));
      say(`building ${tool.name} ${tool.version} with ${go.stdout.trim()} into ${bin} (several minutes the first time)`);
      const run = (args) => spawnSync('go', args, { cwd: dir, stdio: 'inherit', env: { ...process.env, GOFLAGS: '-mod=mod' } }).status === 0;
      const ok = run(['mod', 'init', `portcullis-${tool.name}-tool`]) && run(['get', '-tool', `${tool.pkg}@${tool.version}`]) && run(['build', '-o', file, tool.pkg]);
      rmSync(dir, { recursive: true, force: true });
      say(ok ? `${tool.name.padEnd(12)} built in ${Math.round((Date.now() - started) / 1000)} s (${file})` : `${tool.name.padEnd(12)} failed: ${manual}`);
      status[tool.name] = ok ? 'built' : 'failed: go build failed';
    }
  } catch (err) {
    say(`could not install the observability test tools: ${err?.message ?? err}`);
  }
  return status;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  installGoTools();
  process.exitCode = 0;
}
