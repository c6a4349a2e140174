#!/usr/bin/env node
// Everything the tests need that `npm install` does not bring (it installs only what the gateway needs: OPA, the UI,
// the build): Jaeger and promtool for the telemetry tests (scripts/install-go-tools.mjs, into .tools/bin), the
// Python MCP SDK for the independent-client tests (scripts/install-python.mjs, .tools/python), and, below, the
// interop peers. Everything is cached in .tools/, so a second run takes seconds. A test that needs one of these and
// finds it missing fails and says to run `npm run setup:test`.
//
// Builds the interop peers (test/fixtures/interop/<sdk>/: a server and a client on each official MCP SDK) into
// .tools/interop/, for `npm run test:interop`. Each peer is cached by a hash of its sources, its SDK version and its
// toolchain, so a second run is instant. Only registry packages are downloaded (npm is already done by `npm ci`;
// PyPI, the Go module proxy, crates.io, Maven Central). Prints one line per peer (built / cached / failed: why),
// records them in .tools/interop/status.json for the tests, and exits 0: a peer that cannot build here is named, and
// the tests then leave its rows out and say so.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installGoTools } from './install-go-tools.mjs';
import { installPython } from './install-python.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const fixtures = join(root, 'test', 'fixtures', 'interop');
const tools = join(root, '.tools', 'interop');
const say = (text) => process.stdout.write(`[setup:test] ${text}\n`);

/** The SDK versions the peers are built against: part of every cache key. */
const VERSIONS = {
  python1: 'mcp==1.30.0',
  python2: 'mcp==2.3.0',
};

const tail = (text, lines = 6) => text.trim().split('\n').slice(-lines).join(' / ').slice(0, 1500);
const version = (cmd, args) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.error || r.status !== 0 ? null : `${r.stdout}${r.stderr}`.trim().split('\n')[0];
};
const npmVersion = (name) => {
  const file = join(root, 'node_modules', name, 'package.json');
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')).version : null;
};

function files(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'target' || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...files(path));
    else out.push(path);
  }
  return out.sort();
}

function hashOf(dirs, extra) {
  const h = createHash('sha256').update(JSON.stringify(extra));
  for (const dir of dirs) for (const file of files(dir)) h.update(relative(root, file)).update('\0').update(readFileSync(file)).update('\0');
  return h.digest('hex');
}

/** Runs a command, resolving to { ok, output } (bounded: 20 minutes). */
function run(cmd, args, options = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c) => (output = (output + c).slice(-20_000)));
    child.stderr.on('data', (c) => (output = (output + c).slice(-20_000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20 * 60_000);
    child.on('error', (err) => resolve({ ok: false, output: String(err.message) }));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ ok: code === 0, output });
    });
  });
}

/**
 * One peer: `key` is its cache key (null: cannot build here, `missing` says why); `build` makes it in `out`.
 * A peer is cached when out/.hash holds the key.
 */
async function provide({ id, out, key, missing, build }) {
  const started = Date.now();
  if (!key) return { status: 'failed', reason: missing };
  const stamp = join(out, '.hash');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === key) return { status: 'cached' };
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const result = await build(out);
  if (!result.ok) return { status: 'failed', reason: `${id}: ${tail(result.output)}` };
  writeFileSync(stamp, key);
  return { status: 'built', seconds: Math.round((Date.now() - started) / 1000) };
}

const node = (pkgs) => {
  const versions = pkgs.map((p) => [p, npmVersion(p)]);
  const absent = versions.filter(([, v]) => !v).map(([p]) => p);
  return { version: versions.map(([p, v]) => `${p}@${v}`).join(' '), missing: absent.length ? `${absent.join(', ')} not installed: run "npm ci"` : null };
};

function python(major, requirement) {
  const py = version('python3', ['--version']);
  const out = join(tools, `python-mcp${major}`);
  return {
    id: `python-mcp${major}`,
    out,
    version: requirement,
    key: py && hashOf([], [requirement, py]),
    missing: 'python3 is not available (on Debian: apt-get install python3 python3-venv)',
    async build() {
      const venv = await run('python3', ['-m', 'venv', out]);
      if (!venv.ok) return venv;
      return run(join(out, 'bin', 'python3'), ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', requirement]);
    },
  };
}

function goPeer() {
  const go = version('go', ['version']);
  const dir = join(fixtures, 'go');
  const out = join(tools, 'go');
  return {
    id: 'go',
    out,
    version: /go-sdk (v\S+)/.exec(readFileSync(join(dir, 'go.mod'), 'utf8'))?.[1] ?? '?',
    key: go && hashOf([dir], [go]),
    missing: 'go is not installed (https://go.dev/dl/)',
    async build() {
      for (const bin of ['server', 'client']) {
        const r = await run('go', ['build', '-o', join(out, bin), `./${bin}`], { cwd: dir, env: { ...process.env, GOFLAGS: '-mod=readonly' } });
        if (!r.ok) return r;
      }
      return { ok: true, output: '' };
    },
  };
}

function rustPeer() {
  const cargo = version('cargo', ['--version']);
  const dir = join(fixtures, 'rust');
  const out = join(tools, 'rust');
  const lock = existsSync(join(dir, 'Cargo.lock')) ? readFileSync(join(dir, 'Cargo.lock'), 'utf8') : '';
  return {
    id: 'rust',
    out,
    version: `rmcp ${/name = "rmcp"\nversion = "([^"]+)"/.exec(lock)?.[1] ?? '?'}`,
    key: lock && cargo && hashOf([dir], [cargo]),
    missing: lock ? 'cargo is not installed (https://rustup.rs)' : `no ${relative(root, dir)}/Cargo.lock`,
    async build() {
      // The target dir lives outside out/ so a source change rebuilds incrementally.
      // CARGO_TARGET_DIR, when set, keeps the compiled dependencies across clones (CI points it at a cache).
      const target = process.env.CARGO_TARGET_DIR || join(tools, 'rust-target');
      const r = await run('cargo', ['build', '--locked', '--bins'], { cwd: dir, env: { ...process.env, CARGO_TARGET_DIR: target } });
      if (!r.ok) return r;
      for (const bin of ['server', 'client']) copyFileSync(join(target, 'debug', `interop-${bin}`), join(out, bin));
      spawnSync('chmod', ['+x', join(out, 'server'), join(out, 'client')]);
      return r;
    },
  };
}

function javaPeer() {
  const mvn = version('mvn', ['--version']);
  const java = version('java', ['-version']);
  const dir = join(fixtures, 'java');
  const out = join(tools, 'java');
  const pom = existsSync(join(dir, 'pom.xml')) ? readFileSync(join(dir, 'pom.xml'), 'utf8') : '';
  return {
    id: 'java',
    out,
    version: `io.modelcontextprotocol.sdk:mcp ${/<mcp.version>([^<]+)</.exec(pom)?.[1] ?? '?'}`,
    key: pom && mvn && java && hashOf([dir], [mvn, java]),
    missing: pom ? 'java 17+ and mvn are needed (on Debian: apt-get install openjdk-17-jdk-headless maven)' : `no ${relative(root, dir)}/pom.xml`,
    async build() {
      const target = join(tools, 'java-target');
      const r = await run('mvn', ['-q', '-B', 'package', '-DskipTests', `-DbuildDirectory=${target}`], { cwd: dir });
      if (!r.ok) return r;
      copyFileSync(join(target, 'interop.jar'), join(out, 'interop.jar'));
      return r;
    },
  };
}

const ts1 = node(['@modelcontextprotocol/sdk']);
const ts2 = node(['@modelcontextprotocol/server', '@modelcontextprotocol/client']);
const peers = [
  // The TypeScript peers run from their sources under Node 24: nothing to build, only the packages to check.
  { id: 'ts-v1', out: join(tools, 'ts-v1'), version: ts1.version, key: ts1.missing ? null : hashOf([join(fixtures, 'ts-v1')], [ts1.version]), missing: ts1.missing, build: async () => ({ ok: true, output: '' }) },
  { id: 'ts-v2', out: join(tools, 'ts-v2'), version: ts2.version, key: ts2.missing ? null : hashOf([join(fixtures, 'ts-v2')], [ts2.version]), missing: ts2.missing, build: async () => ({ ok: true, output: '' }) },
  python(1, VERSIONS.python1),
  python(2, VERSIONS.python2),
  goPeer(),
  rustPeer(),
  javaPeer(),
];

const started = Date.now();
// The telemetry tools and the Python venv first: each is a blocking build, and the peers below run in parallel.
installGoTools();
installPython();
mkdirSync(tools, { recursive: true });
const status = {};
await Promise.all(
  peers.map(async (p) => {
    let result;
    try {
      result = await provide(p);
    } catch (err) {
      result = { status: 'failed', reason: `${p.id}: ${err?.message ?? err}` };
    }
    status[p.id] = { ...result, version: p.version };
    say(`${p.id.padEnd(12)} ${result.status}${result.seconds !== undefined ? ` in ${result.seconds} s` : ''}${result.reason ? `: ${result.reason}` : ''} (${p.version})`);
  }),
);
writeFileSync(join(tools, 'status.json'), `${JSON.stringify(status, null, 2)}\n`);
say(`done in ${Math.round((Date.now() - started) / 1000)} s; status in ${relative(root, join(tools, 'status.json'))}`);
process.exitCode = 0;
