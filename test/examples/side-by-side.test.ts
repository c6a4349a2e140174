// Every example started from its README's "Run it" commands, as written, two examples at a time: each must come up
// beside the other (own data, admin, readiness and stats ports, or those servers off), and the clients its README
// runs must succeed. Also: every example binds loopback, and no two examples (nor `npm start`) plan one address.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../../core/config/index.ts';
import { plannedAddresses } from '../../core/server/start.ts';
import { builtinPolicies } from '../../policies/index.ts';
import { builtinBackends } from '../../core/gateway/backends.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const BIN = join(ROOT, 'core/cli/bin.mjs');
const EXAMPLES = readdirSync(join(ROOT, 'examples'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
/** How long one process may take to say it is up (a gateway builds and loads its config; Jaeger starts). */
const UP_MS = 60_000;
/** Lines of a "Run it" block that are not part of running the example: one-time setup and one-shot checks. */
const NOT_RUN = [/install-(go-)?tools|setup:test/, /portcullis policy (test|eval)/];

/** The first shell block under "## Run it": its commands, comments and a trailing `&` removed. */
export function runItCommands(name: string): string[] {
  const readme = readFileSync(join(ROOT, 'examples', name, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Run it'));
  const block = /```sh\n([\s\S]*?)```/.exec(section);
  assert.ok(block, `examples/${name}/README.md: no \`\`\`sh block under "## Run it"`);
  return block[1]
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').replace(/^#.*$/, '').replace(/\s*&\s*$/, '').trim())
    .filter((l) => l !== '' && !NOT_RUN.some((re) => re.test(l)));
}

/** A README command as a process: `npx portcullis` is the package's bin (what npx runs), `node` the pinned Node 24. */
function argvOf(command: string): string[] {
  const words = command.split(/\s+/);
  if (words[0] === 'npx' && words[1] === 'portcullis') return [process.execPath, BIN, ...words.slice(2)];
  if (words[0] === 'node' || words[0] === 'node_modules/.bin/node') return [process.execPath, ...words.slice(1)];
  return words;
}

interface Running {
  command: string;
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

const everything: Running[] = [];

function run(command: string): Running {
  const [file, ...args] = argvOf(command);
  const child = spawn(file, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_lifecycle_event: undefined } });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const running = { command, child, output: () => out, exited };
  everything.push(running);
  return running;
}

/** Resolves once `test` holds for the output; rejects if the process exits first or after UP_MS. */
function until(r: Running, test: (out: string) => boolean, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (test(r.output())) done(resolve);
    };
    const done = (f: () => void) => {
      clearTimeout(timer);
      r.child.stdout!.off('data', check);
      r.child.stderr!.off('data', check);
      f();
    };
    const timer = setTimeout(() => done(() => reject(new Error(`"${r.command}": no ${what} within ${UP_MS} ms:\n${r.output()}`))), UP_MS);
    r.child.stdout!.on('data', check);
    r.child.stderr!.on('data', check);
    r.exited.then((code) => done(() => (test(r.output()) ? resolve() : reject(new Error(`"${r.command}" exited ${code} before ${what}:\n${r.output()}`)))));
    check();
  });
}

async function stop(r: Running): Promise<void> {
  if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGTERM');
  const timer = setTimeout(() => r.child.kill('SIGKILL'), 15_000);
  await r.exited;
  clearTimeout(timer);
}

/** Starts one example as its README says: servers, then the gateway (up when it logs "listening"), then clients. */
async function startExampleFromReadme(name: string): Promise<{ processes: Running[]; clients: string[] }> {
  const commands = runItCommands(name);
  const gatewayAt = commands.findIndex((c) => c.startsWith('npx portcullis'));
  assert.ok(gatewayAt >= 0, `examples/${name}: the "Run it" block starts no gateway`);
  const processes: Running[] = [];
  for (const command of commands.slice(0, gatewayAt)) {
    const server = run(command);
    processes.push(server);
    await until(server, (out) => out.length > 0, 'output');
  }
  // The two forms of one example (gateway.config.ts and config.yaml) share their ports: the README names the first.
  const gateway = run(commands[gatewayAt]);
  processes.push(gateway);
  await until(gateway, (out) => out.includes('"msg":"listening"'), '"listening" line');
  return { processes, clients: commands.slice(gatewayAt + 1) };
}

describe('examples run side by side, from their READMEs', () => {
  after(async () => {
    await Promise.all(everything.map(stop));
  });

  it('every example binds loopback, and no two examples (nor the default gateway.config.ts) plan the same address', async () => {
    const owner = new Map<string, string>();
    const configs = [
      ['gateway.config.ts', join(ROOT, 'gateway.config.ts')],
      ...EXAMPLES.flatMap((name) => ['gateway.config.ts', 'config.yaml'].filter((f) => existsSync(join(ROOT, 'examples', name, f))).map((f) => [`examples/${name}/${f}`, join(ROOT, 'examples', name, f)])),
    ];
    for (const [label, file] of configs) {
      const loaded = await loadConfig(file, builtinPolicies, builtinBackends);
      for (const bind of loaded.config.binds) assert.equal(bind.address, '127.0.0.1', `${label}: binds ${bind.address}`);
      for (const planned of plannedAddresses(loaded)) {
        const first = owner.get(planned.address);
        // The two forms of one example stand for each other and share their ports.
        const sameExample = first !== undefined && first.split('/').slice(0, 2).join('/') === label.split('/').slice(0, 2).join('/') && label.startsWith('examples/');
        assert.ok(first === undefined || sameExample, `${planned.address} (${planned.setting}) is planned by ${first} and ${label}`);
        if (first === undefined) owner.set(planned.address, label);
      }
    }
  });

  // Two at a time: each pair proves its two examples' ports apart in practice, and the machine stays usable.
  const pairs: string[][] = [];
  for (let i = 0; i < EXAMPLES.length; i += 2) pairs.push(EXAMPLES.slice(i, i + 2));
  for (const pair of pairs) {
    it(`${pair.join(' and ')}: up together, and the clients their READMEs run succeed`, async () => {
      const started = await Promise.all(pair.map((name) => startExampleFromReadme(name)));
      try {
        for (const { clients } of started) {
          for (const command of clients) {
            const client = run(command);
            const code = await client.exited;
            assert.equal(code, 0, `"${command}" exited ${code}:\n${client.output()}`);
            assert.ok(client.output().trim().length > 0, `"${command}" printed nothing`);
            assert.doesNotMatch(client.output(), /refused: MCP error -32601|forbidden: logging/, command);
          }
        }
      } finally {
        await Promise.all(started.flatMap((s) => s.processes).map(stop));
      }
    });
  }
});
