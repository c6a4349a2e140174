import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';

const ROOT = new URL('../../', import.meta.url).pathname;
export const BIN = join(ROOT, 'core/cli/bin.mjs');

/** One gateway process started by the CLI, as a replica of a deployment: its config, its env, its output. */
export interface Replica {
  child: ChildProcess;
  /** Everything it wrote, stdout and stderr. */
  output(): string;
  /** What it wrote on stdout alone. */
  stdout(): string;
  /** Parsed JSON log lines. */
  lines(): Array<Record<string, any>>;
  /** Resolves when a log line matches; rejects after `timeoutMs` or when the process exits. */
  waitFor(pred: (l: Record<string, any>) => boolean, timeoutMs?: number, what?: string): Promise<Record<string, any>>;
  /** Resolves when the output (any format) contains `text`; rejects after `timeoutMs` or when the process exits. */
  waitForText(text: string, timeoutMs?: number): Promise<void>;
  /** Resolves with the exit code (or signal name) once it exits and its output is read. */
  exited: Promise<number | string>;
  stop(signal?: NodeJS.Signals): Promise<number | string>;
  cleanup(): Promise<void>;
}

export { until } from './wait.ts';

export interface CliOptions {
  cwd?: string;
  /** The CLI to run: this checkout's core/cli/bin.mjs by default. */
  bin?: string;
  /** Added to this process's environment. */
  env?: Record<string, string>;
  /** Node flags before bin.mjs; `--no-node-snapshot` by default (bin.mjs then runs the gateway in this process). */
  nodeArgs?: string[];
  /** Resolves the start once a JSON log line matches (bounded by `readyTimeoutMs`, 60 s); none: resolves at once. */
  ready?: (l: Record<string, any>) => boolean;
  readyTimeoutMs?: number;
}

/**
 * Starts `node bin.mjs ...args` and follows its output: `waitFor` a log line (checked on each chunk of output and on
 * exit, not by polling), `exited`, `stop`. Resolves once `ready` matches; if the start fails the process is killed
 * and the error carries its output.
 */
export async function startCli(args: string[], opts: CliOptions = {}): Promise<Replica> {
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? ['--no-node-snapshot']), opts.bin ?? BIN, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let stdout = '';
  const waiters = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += d;
    for (const w of [...waiters]) w();
  };
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d;
    onData(d);
  });
  child.stderr!.on('data', onData);
  // 'close', not 'exit': by then the last output has been read.
  let done = false;
  const exited = new Promise<number | string>((resolve) => child.once('close', (code, signal) => resolve(code ?? signal ?? -1)));
  exited.then(() => {
    done = true;
    for (const w of [...waiters]) w();
  });
  const lines = () =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => {
        try {
          return JSON.parse(l) as Record<string, any>;
        } catch {
          return {};
        }
      });
  const waitOn = <T>(find: () => T | undefined, timeoutMs: number, what: string) =>
    new Promise<T>((resolve, reject) => {
      const check = () => {
        const hit = find();
        if (hit !== undefined) return finish(() => resolve(hit));
        if (done) finish(() => reject(new Error(`the process exited before ${what}:\n${out.slice(-3000)}`)));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`no ${what} within ${timeoutMs} ms:\n${out.slice(-3000)}`))), timeoutMs);
      const finish = (fn: () => void) => {
        clearTimeout(timer);
        waiters.delete(check);
        fn();
      };
      waiters.add(check);
      check();
    });
  const replica: Replica = {
    child,
    output: () => out,
    stdout: () => stdout,
    lines,
    waitFor: (pred, timeoutMs = 20_000, what = 'a log line') => waitOn(() => lines().find(pred), timeoutMs, what),
    waitForText: (text, timeoutMs = 20_000) => waitOn(() => (out.includes(text) ? true : undefined), timeoutMs, JSON.stringify(text)).then(() => undefined),
    exited,
    async stop(signal = 'SIGTERM') {
      if (!done) child.kill(signal);
      const kill = setTimeout(() => child.kill('SIGKILL'), 40_000);
      const code = await exited;
      clearTimeout(kill);
      return code;
    },
    async cleanup() {
      if (done) return;
      child.kill('SIGKILL');
      // Workers of a killed supervisor may hold its stdout a little longer; past that, let the pipes go.
      const late = setTimeout(() => {
        child.stdout!.destroy();
        child.stderr!.destroy();
      }, 5_000);
      await exited;
      clearTimeout(late);
    },
  };
  if (!opts.ready) return replica;
  try {
    await replica.waitFor(opts.ready, opts.readyTimeoutMs ?? 60_000, 'the start');
  } catch (err) {
    await replica.cleanup();
    throw err;
  }
  return replica;
}

/** The port of a gateway's first 'listening' log line, once it is written. */
export async function listenPort(r: Replica, timeoutMs = 20_000): Promise<number> {
  return (await r.waitFor((l) => l.msg === 'listening', timeoutMs, 'the "listening" line')).port as number;
}

/**
 * Starts `portcullis start` on `config` (written as gateway.config.ts in a temp dir) with `env` added to this
 * process's environment. Resolves once `ready` matches a log line (bounded by 60 s).
 */
export async function startReplica(config: Record<string, unknown>, env: Record<string, string>, ready: (l: Record<string, any>) => boolean): Promise<Replica> {
  const dir = await mkdtemp(join(tmpdir(), 'pcl-replica-'));
  const file = join(dir, 'gateway.config.ts');
  await writeFile(file, `export default ${JSON.stringify(config)};\n`);
  let replica: Replica;
  try {
    replica = await startCli(['start', '--no-watch', '-c', file], { env, ready });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const cleanup = replica.cleanup;
  replica.cleanup = async () => {
    await cleanup();
    await rm(dir, { recursive: true, force: true });
  };
  return replica;
}

export interface RpcAnswer {
  status: number;
  session?: string;
  message: any;
  headers: Record<string, unknown>;
}

/** One JSON-RPC POST on a new connection; the answer whether it came as JSON or as one SSE event. */
export async function rpc(url: string, body: unknown, session?: string): Promise<RpcAnswer> {
  const res = await request(url, {
    method: 'POST',
    reset: true,
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...(session ? { 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' } : {}),
    },
    body: JSON.stringify(body),
  });
  const text = await res.body.text();
  const data = text.startsWith('{') ? text : text.split('\n').find((l) => l.startsWith('data: '))?.slice(6);
  return { status: res.statusCode, session: res.headers['mcp-session-id'] as string | undefined, message: data ? JSON.parse(data) : undefined, headers: res.headers };
}

export const INIT = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: { sampling: {} }, clientInfo: { name: 'replica-test', version: '1' } } };

/** Opens a session on `url` (initialize + initialized); returns its id. */
export async function openSession(url: string): Promise<string> {
  const init = await rpc(url, INIT);
  if (init.status !== 200 || !init.session) throw new Error(`initialize failed: ${init.status} ${JSON.stringify(init.message)}`);
  const ack = await rpc(url, { jsonrpc: '2.0', method: 'notifications/initialized' }, init.session);
  if (ack.status !== 202) throw new Error(`initialized failed: ${ack.status}`);
  return init.session;
}

/** A tools/call's first text block, or throws with what came back. */
export async function callText(url: string, session: string, name: string, args: Record<string, unknown> = {}, id = 2): Promise<string> {
  const r = await rpc(url, { jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } }, session);
  const text = r.message?.result?.content?.[0]?.text;
  if (r.status !== 200 || typeof text !== 'string') throw new Error(`tools/call ${name}: ${r.status} ${JSON.stringify(r.message)}`);
  return text;
}
