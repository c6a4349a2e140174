import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { GatewayConfig } from '../../sdk-types/index.ts';
import { builtinPolicies } from '../../policies/index.ts';
import { builtinBackends } from '../../core/gateway/backends.ts';
import type { PolicyDefinition } from '../../core/pipeline/index.ts';
import { startPortcullis, type RunningGateway } from '../../core/server/index.ts';
import { createLogger } from '../../core/telemetry/index.ts';
import { until } from './wait.ts';

/** Log lines captured from a gateway under test, parsed. */
export class LogCapture {
  readonly lines: Array<Record<string, any>> = [];
  readonly stream = new Writable({
    write: (chunk, _enc, cb) => {
      for (const line of String(chunk).split('\n')) if (line) this.lines.push(JSON.parse(line));
      cb();
    },
  });
  find(pred: (l: Record<string, any>) => boolean) {
    return this.lines.find(pred);
  }
  /** Resolves once a line matches, or rejects after `timeoutMs`. */
  async waitFor(pred: (l: Record<string, any>) => boolean, timeoutMs = 10_000): Promise<Record<string, any>> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      const hit = this.lines.find(pred);
      if (hit) return hit;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`no log line matched within ${timeoutMs} ms; last lines:\n${this.lines.slice(-5).map((l) => JSON.stringify(l)).join('\n')}`);
  }
  raw(): string {
    return this.lines.map((l) => JSON.stringify(l)).join('\n');
  }
}

export interface TestGateway {
  running: RunningGateway;
  logs: LogCapture;
  dir: string;
  file: string;
  /** Base URL of bind `i` (default 0), e.g. http://127.0.0.1:40123 */
  url(i?: number): string;
  port(i?: number): number;
  /** Rewrites the config file (for hot-reload tests). */
  write(config: GatewayConfig | string): Promise<void>;
  close(): Promise<void>;
}

/** The config as a gateway.config.ts source, so tests go through the same esbuild loader users do. */
export function configSource(config: GatewayConfig): string {
  return `import { defineConfig } from 'portcullis';\nexport default defineConfig(${JSON.stringify(config, null, 2)});\n`;
}

/**
 * Starts a real gateway from a config (written to a temp dir as gateway.config.ts). Admin, readiness and stats
 * servers are off unless the config sets them; binds should use port 0 on 127.0.0.1.
 */
export async function startTestGateway(
  config: GatewayConfig | string,
  options: { watch?: boolean; policies?: readonly PolicyDefinition[]; fileName?: string; files?: Record<string, string> } = {},
): Promise<TestGateway> {
  const dir = await mkdtemp(join(tmpdir(), 'pcl-test-'));
  const file = join(dir, options.fileName ?? 'gateway.config.ts');
  for (const [name, text] of Object.entries(options.files ?? {})) await writeFile(join(dir, name), text);
  const write = async (c: GatewayConfig | string) => {
    const withDefaults = typeof c === 'string' ? c : configSource({ admin: { address: false }, readiness: { address: false }, stats: { address: false }, ...c });
    await writeFile(file, withDefaults);
  };
  await write(config);
  const logs = new LogCapture();
  const logger = createLogger({ level: 'debug', destination: logs.stream });
  const running = await startPortcullis({ configFile: file, policies: options.policies ?? builtinPolicies, backends: builtinBackends, watch: options.watch ?? false, logger });
  return {
    running,
    logs,
    dir,
    file,
    url: (i = 0) => `http://127.0.0.1:${running.gateway.ports()[i]}`,
    port: (i = 0) => running.gateway.ports()[i],
    write,
    async close() {
      await running.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface Upstream {
  /** `127.0.0.1:port`, ready for a `host` backend. */
  host: string;
  port: number;
  server: Server;
  /** Requests seen, in order. */
  seen: IncomingMessage[];
  close(): Promise<void>;
}

/** A real node:http upstream on 127.0.0.1:0. */
export async function startUpstream(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Upstream> {
  const seen: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    seen.push(req);
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    port,
    server,
    seen,
    close: () =>
      new Promise((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

/** An upstream that answers with what it received, as JSON. */
export function echoUpstream(name = 'echo'): Promise<Upstream> {
  return startUpstream((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.stringify({ upstream: name, method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() });
      res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': name });
      res.end(body);
    });
  });
}

/** A single-listener, port-0 loopback config around some routes. */
export function simpleConfig(routes: GatewayConfig['binds'][number]['listeners'][number]['routes'], extra: Partial<GatewayConfig> = {}): GatewayConfig {
  return { binds: [{ port: 0, address: '127.0.0.1', listeners: [{ routes }] }], ...extra };
}

/** A request with full control of headers (fetch forbids Host), answered as status, headers and text. */
export async function send(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string; json(): any }> {
  const { request } = await import('undici');
  const res = await request(url, { method: (options.method ?? 'GET') as 'GET', headers: options.headers, body: options.body });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) };
}

/** Polls `check` until it holds, or throws after `timeoutMs` (for effects that land asynchronously, like reloads). */
export async function eventually(check: () => Promise<boolean>, timeoutMs = 8000): Promise<void> {
  await until(check, { timeoutMs, intervalMs: 50 });
}

export { until };

/**
 * A loaded config (startPortcullis's `transform`) whose stdio MCP targets keep no warm pool: one process per session,
 * started when it opens. For tests of examples that do not test the pool, which doubles while sessions open faster
 * than a process starts (a few sessions in a row started several processes each).
 */
export function withoutWarmPool<T extends { config: { binds: readonly unknown[] } }>(loaded: T): T {
  const backend = (b: any) => (b.kind === 'mcp' && Array.isArray(b.config?.targets) ? { ...b, config: { ...b.config, targets: b.config.targets.map(targetWithoutWarmPool) } } : b);
  const binds = (loaded.config.binds as any[]).map((bind) => ({
    ...bind,
    listeners: bind.listeners.map((l: any) => ({ ...l, routes: l.routes.map((r: any) => ({ ...r, backends: r.backends.map(backend) })) })),
  }));
  return { ...loaded, config: { ...loaded.config, binds } };
}

/** One stdio MCP target without its warm pool (a shared process stays as it is); other targets unchanged. */
export function targetWithoutWarmPool<T extends { stdio?: Record<string, unknown> }>(target: T): T {
  if (!target.stdio || target.stdio.shared) return target;
  const { warmPoolMax: _max, ...stdio } = target.stdio;
  return { ...target, stdio: { ...stdio, warmPool: 0 } };
}
