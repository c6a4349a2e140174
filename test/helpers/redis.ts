import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { withHeldPortRetry } from './held-ports.ts';

const REDIS_SERVER = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => existsSync(p)) ?? 'redis-server';

export interface TestRedis {
  port: number;
  /** `redis://127.0.0.1:<port>` */
  url: string;
  /** Stops the server (SIGKILL: nothing is saved anyway). */
  stop(): Promise<void>;
  /** Starts it again on the same port, empty. */
  start(): Promise<void>;
  readonly running: boolean;
  /** The server's process id (tests pause it with SIGSTOP). */
  readonly pid: number | undefined;
}

/**
 * A real redis-server (Debian's package; `.ci/run` installs it) on a loopback port below the ephemeral range, with no persistence: no
 * RDB snapshots, no AOF, nothing written to disk. Bounded: a server that does not say it is ready within 10 s fails.
 */
export async function startRedis(): Promise<TestRedis> {
  let port = 0;
  let child: ChildProcess | undefined;
  const launch = async () => {
    const proc = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', '/tmp', '--loglevel', 'notice', '--logfile', ''], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => {
        proc.kill('SIGKILL');
        reject(new Error(`redis-server did not start within 10 s: ${out}`));
      }, 10_000);
      const onData = (c: Buffer) => {
        out += c;
        if (out.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      };
      proc.stdout!.on('data', onData);
      proc.stderr!.on('data', onData);
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited with ${code}: ${out}`));
      });
    });
  };
  // redis-server must be told its port: one below the ephemeral range, another one if a parallel test took it first
  // (redis-server then exits saying "Address already in use", which withHeldPortRetry recognises).
  await withHeldPortRetry(async (p) => {
    port = p;
    await launch();
  });
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return child?.pid;
    },
    get running() {
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    start: launch,
    async stop() {
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      await new Promise<void>((r) => {
        c.once('exit', () => r());
        c.kill('SIGKILL');
      });
    },
  };
}
