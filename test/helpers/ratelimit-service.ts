// Envoy's rate-limit service (github.com/envoyproxy/ratelimit, the Go reference implementation of
// envoy.service.ratelimit.v3), backed by a real Redis, for the remoteRateLimit tests. `npm run setup:test` builds it
// into .tools/bin/ratelimit (scripts/install-go-tools.mjs); when it is missing the test fails and says so.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { portsBelowEphemeralRange } from './held-ports.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export function ratelimitPath(): string {
  const file = process.env.PORTCULLIS_RATELIMIT ?? join(ROOT, '.tools', 'bin', 'ratelimit');
  try {
    accessSync(file, constants.X_OK);
    return file;
  } catch {
    throw new Error(`Envoy's rate-limit service is not installed at ${file}: run "npm run setup:test" (it builds it into .tools/bin with Go), or set PORTCULLIS_RATELIMIT to its path`);
  }
}

export interface RateLimitService {
  /** `127.0.0.1:<grpc port>` */
  host: string;
  /** Everything the service logged (debug level: each descriptor it was asked about). */
  readonly log: string;
  stop(): Promise<void>;
}

/**
 * Starts the service with `config` (its YAML: `domain`, `descriptors`) on loopback ports below the ephemeral range, counting in the Redis
 * at `redisPort`; resolves once its gRPC port accepts a connection (bounded: 20 s).
 * `responseHeaders` turns on its own `RateLimit-*` response headers (LIMIT_RESPONSE_HEADERS_ENABLED).
 */
export async function startRateLimitService(config: string, redisPort: number, opts: { responseHeaders?: boolean } = {}): Promise<RateLimitService> {
  // The service must be told its three ports: below the ephemeral range, fresh ones if a parallel test took one first.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(config, redisPort, opts, await portsBelowEphemeralRange(3));
    } catch (err) {
      if (attempt >= 3 || !/address already in use|EADDRINUSE/i.test(String((err as Error).message))) throw err;
    }
  }
}

async function startOnce(config: string, redisPort: number, opts: { responseHeaders?: boolean }, [grpcPort, httpPort, debugPort]: number[]): Promise<RateLimitService> {
  const bin = ratelimitPath();
  const dir = await mkdtemp(join(tmpdir(), 'portcullis-rls-'));
  await mkdir(join(dir, 'rl', 'config'), { recursive: true });
  await writeFile(join(dir, 'rl', 'config', 'config.yaml'), config);
  const child: ChildProcess = spawn(bin, [], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH,
      REDIS_URL: `127.0.0.1:${redisPort}`,
      REDIS_SOCKET_TYPE: 'tcp',
      USE_STATSD: 'false',
      LOG_LEVEL: 'debug',
      RUNTIME_ROOT: dir,
      RUNTIME_SUBDIRECTORY: 'rl',
      RUNTIME_WATCH_ROOT: 'false',
      HOST: '127.0.0.1',
      PORT: String(httpPort),
      GRPC_HOST: '127.0.0.1',
      GRPC_PORT: String(grpcPort),
      DEBUG_HOST: '127.0.0.1',
      DEBUG_PORT: String(debugPort),
      ...(opts.responseHeaders ? { LIMIT_RESPONSE_HEADERS_ENABLED: 'true' } : {}),
    },
  });
  let log = '';
  child.stdout!.on('data', (c) => (log = (log + c).slice(-200_000)));
  child.stderr!.on('data', (c) => (log = (log + c).slice(-200_000)));
  const host = `127.0.0.1:${grpcPort}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  const probe = new grpc.Client(host, grpc.credentials.createInsecure());
  try {
    await new Promise<void>((resolve, reject) => {
      const exited = (code: number | null) => reject(new Error(`the rate-limit service exited (${code}) before listening:\n${log}`));
      child.once('exit', exited);
      probe.waitForReady(Date.now() + 20_000, (err) => {
        child.off('exit', exited);
        if (err) reject(new Error(`the rate-limit service did not listen on ${host} within 20 s: ${err.message}\n${log}`));
        else resolve();
      });
    });
  } catch (err) {
    await stop();
    throw err;
  } finally {
    probe.close();
  }
  return {
    host,
    get log() {
      return log;
    },
    stop,
  };
}
