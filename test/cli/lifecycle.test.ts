import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { configSource, send, startUpstream } from '../helpers/gateway.ts';
import { startCli, until } from '../helpers/replica.ts';

// Every way a user starts the gateway, stopped by a signal to the process the user started: the port must stop
// being served and every process of the tree (npm, sh, the CLI wrapper, the gateway) must exit.
const ROOT = new URL('../../', import.meta.url).pathname;
const BIN = join(ROOT, 'core/cli/bin.mjs');
const STOP_WITHIN_MS = 15_000;

/** Live (non-zombie) processes whose process group is `pgid`, from /proc. */
function groupMembers(pgid: number): Array<{ pid: number; cmd: string }> {
  const found: Array<{ pid: number; cmd: string }> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z' || Number(fields[2]) !== pgid) continue;
      found.push({ pid: Number(entry), cmd: readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ').trim() });
    } catch {
      // gone between readdir and read
    }
  }
  return found;
}

function portServed(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

interface Tree {
  root: ChildProcess;
  port: number;
  output: () => string;
}

/** Starts a command in its own process group and waits for the gateway's "listening" line. */
async function startTree(command: string, args: string[], configFile: string): Promise<Tree> {
  // detached: its own process group, so the test can list the whole tree and clean it up.
  const root = spawn(command, [...args, '--no-watch', '-c', configFile], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  // The "listening" line, looked for as output arrives; undefined if the root exits or 60 s pass first.
  const listening = new Promise<string | undefined>((resolve) => {
    const timer = setTimeout(() => resolve(undefined), 60_000);
    const onData = (d: Buffer) => {
      out += d;
      const line = out.split('\n').find((l) => l.includes('"msg":"listening"'));
      if (line) {
        clearTimeout(timer);
        resolve(line);
      }
    };
    root.stdout!.on('data', onData);
    root.stderr!.on('data', onData);
    root.once('exit', () => {
      clearTimeout(timer);
      resolve(undefined);
    });
  });
  const line = await listening;
  if (line) {
    const port = JSON.parse(line).port as number;
    assert.equal((await send(`http://127.0.0.1:${port}/`)).status, 200);
    return { root, port, output: () => out };
  }
  killGroup(root.pid!);
  throw new Error(`${command} ${args.join(' ')} did not start:\n${out}`);
}

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Sends `signal` (to the root process, or to its whole group like Ctrl-C does) and waits for the tree to end. */
async function stopAndCheck(tree: Tree, signal: NodeJS.Signals, target: 'root' | 'group'): Promise<void> {
  const pgid = tree.root.pid!;
  const members = groupMembers(pgid);
  assert.ok(members.length >= 2, `expected a wrapper and a gateway, got ${JSON.stringify(members)}`);
  try {
    if (target === 'group') process.kill(-pgid, signal);
    else tree.root.kill(signal);
    await until(async () => !(await portServed(tree.port)) && groupMembers(pgid).length === 0, { timeoutMs: STOP_WITHIN_MS, intervalMs: 50, what: 'the tree to end' }).catch(() => undefined);
    assert.equal(await portServed(tree.port), false, `port ${tree.port} still served ${STOP_WITHIN_MS} ms after ${signal}`);
    assert.deepEqual(groupMembers(pgid), [], `processes left ${STOP_WITHIN_MS} ms after ${signal}:\n${tree.output()}`);
    const out = tree.output();
    assert.match(out, new RegExp(`"signal":"${signal}".*"msg":"shutting down: draining in-flight requests"`), out);
    assert.match(out, /"msg":"stopped"/, 'the gateway drained and stopped instead of dying');
    assert.equal(out.match(/shutting down: draining/g)?.length, 1, 'one shutdown even when the signal arrives twice');
  } finally {
    killGroup(pgid);
  }
}

describe('stopping the gateway by a signal to whatever process the user started', () => {
  let configFile: string;
  before(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pcl-lifecycle-'));
    configFile = join(dir, 'gateway.config.ts');
    await writeFile(
      configFile,
      configSource({ admin: { address: false }, readiness: { address: false }, stats: { address: false }, binds: [{ port: 0, address: '127.0.0.1', listeners: [{ routes: [{ policies: { directResponse: { status: 200 } } }] }] }] }),
    );
  });

  // [what the user runs, command, arguments, signal, sent to the root process or to its whole group (Ctrl-C)]
  const cases: Array<[string, string, string[], NodeJS.Signals, 'root' | 'group']> = [
    ['npm start', 'npm', ['start', '--'], 'SIGTERM', 'root'],
    ['npm start', 'npm', ['start', '--'], 'SIGINT', 'root'],
    ['npm start', 'npm', ['start', '--'], 'SIGINT', 'group'],
    ['npx portcullis start', 'npx', ['portcullis', 'start'], 'SIGTERM', 'root'],
    // npm runs a bin through `sh -c`, which holds a SIGINT aimed at npm alone until its child exits: there only
    // the terminal's Ctrl-C (the whole group) can reach the gateway.
    ['npx portcullis start', 'npx', ['portcullis', 'start'], 'SIGINT', 'group'],
    ['node core/cli/bin.mjs start', process.execPath, [BIN, 'start'], 'SIGTERM', 'root'],
    ['node core/cli/bin.mjs start', process.execPath, [BIN, 'start'], 'SIGINT', 'root'],
    ['node core/cli/bin.mjs start', process.execPath, [BIN, 'start'], 'SIGINT', 'group'],
  ];
  for (const [label, command, args, signal, target] of cases) {
    const to = target === 'root' ? 'that process' : 'its process group (Ctrl-C)';
    it(`${label}: ${signal} to ${to} drains once, stops the port and every process of the tree`, async () => {
      await stopAndCheck(await startTree(command, args, configFile), signal, target);
    });
  }

  it('a second signal while draining does not cut the drain short', async () => {
    const slow = await startUpstream((_req, res) => setTimeout(() => res.end('slow finished'), 1500));
    const dir = await mkdtemp(join(tmpdir(), 'pcl-lifecycle-'));
    const file = join(dir, 'slow.config.ts');
    await writeFile(file, configSource({ admin: { address: false }, readiness: { address: false }, stats: { address: false }, shutdown: { drainTimeoutMs: 10_000 }, binds: [{ port: 0, address: '127.0.0.1', listeners: [{ routes: [{ backends: [{ host: slow.host }] }] }] }] }));
    const gw = await startCli(['start', '--no-watch', '-c', file], { ready: (l) => l.msg === 'listening' });
    const root = gw.child;
    const out = () => gw.output();
    try {
      const port = gw.lines().find((l) => l.msg === 'listening')!.port as number;
      const inflight = send(`http://127.0.0.1:${port}/`);
      await until(() => slow.seen.length > 0, { what: 'the request at the upstream' });
      root.kill('SIGTERM');
      await gw.waitFor((l) => l.msg === 'shutting down: draining in-flight requests');
      root.kill('SIGINT');
      const res = await inflight;
      assert.equal(res.status, 200);
      assert.equal(res.text, 'slow finished');
      assert.equal(await gw.exited, 0);
      assert.equal(out().match(/shutting down: draining/g)?.length, 1);
      assert.match(out(), /"msg":"stopped"/);
    } finally {
      await gw.cleanup();
      await slow.close();
    }
  });
});
