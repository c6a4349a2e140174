import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import type { jsonSchemaValidator, JsonSchemaValidator } from '@modelcontextprotocol/sdk/validation';

export const FIXTURE = fileURLToPath(new URL('../fixtures/mcp/server.ts', import.meta.url));
/** A bare stdio MCP server (no SDK, no TypeScript): for tests that count processes, not what they serve. */
export const TINY = fileURLToPath(new URL('../fixtures/mcp/tiny-server.mjs', import.meta.url));
export const EVERYTHING = fileURLToPath(new URL('../../node_modules/@modelcontextprotocol/server-everything/dist/index.js', import.meta.url));

/**
 * Without a warm pool, unless the test sets one (or `shared`): every warm process is a Node child costing ~0.3 s
 * of CPU, and the pool grows under a burst of sessions, so tests that are not about pooling spawn only the
 * processes their sessions use.
 */
export const NO_POOL = { warmPool: 0 } as const;

/** A stdio target running the test fixture server under this Node, tagged for process counting; no warm pool unless `extra` asks. */
export function fixtureStdio(name: string, tag = 'untagged', extra: Record<string, unknown> = {}) {
  const pool = 'shared' in extra || 'warmPool' in extra || 'warmPoolMax' in extra ? {} : NO_POOL;
  return { name, stdio: { cmd: process.execPath, args: [FIXTURE, name, 'stdio', `--tag=${tag}`], ...pool, ...extra } };
}

/**
 * Like `fixtureStdio`, with the bare server: it answers initialize, ping, tools/list and `echo` (as `<name>: <text>`,
 * like the fixture) and nothing else, for a fraction of the fixture's start-up CPU. Same command-line shape
 * (`<name> stdio --tag=<tag>`), so process counts match the same way.
 */
export function tinyStdio(name: string, tag = 'untagged', extra: Record<string, unknown> = {}) {
  const pool = 'shared' in extra || 'warmPool' in extra || 'warmPoolMax' in extra ? {} : NO_POOL;
  return { name, stdio: { cmd: process.execPath, args: [TINY, name, 'stdio', `--tag=${tag}`], ...pool, ...extra } };
}

/** Processes whose command line contains `tag` (children, grandchildren, anything). */
export function countTagged(tag: string): number {
  let n = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(tag)) n++;
    } catch {
      // exited while we looked
    }
  }
  return n;
}

export async function waitUntil(pred: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await pred()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

export interface RunningServer {
  url: string;
  port: number;
  child: ChildProcess;
  close(): Promise<void>;
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => {
    child.once('exit', () => r());
    child.kill('SIGKILL');
  });
}

/**
 * Starts a Node script that prints `listening <port>` once it serves, and returns it with that port. Bounded: a
 * script that dies or stays silent for 15 s fails the caller.
 */
export async function spawnListening(args: string[], what: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c) => {
      out += c;
      const m = /listening (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`${what} exited with ${code}`)));
    setTimeout(() => reject(new Error(`${what} did not report its port within 15 s: ${out}`)), 15_000).unref();
  }).catch((err) => {
    child.kill('SIGKILL');
    throw err;
  });
  return { child, port };
}

/** The fixture server over streamable HTTP on a free port. */
export async function startHttpFixture(name: string): Promise<RunningServer> {
  const { child, port } = await spawnListening([FIXTURE, name, 'http', '0'], `fixture ${name}`);
  return { url: `http://127.0.0.1:${port}/mcp`, port, child, close: () => stop(child) };
}

const REPORT_PORT = fileURLToPath(new URL('../fixtures/mcp/report-port.mjs', import.meta.url));

/**
 * server-everything over `sse` or `streamableHttp`, on port 0: it logs the port it was given, not the one it got,
 * so the `report-port.mjs` preload prints the bound port and that is what this reads back.
 */
export async function startEverything(kind: 'sse' | 'streamableHttp'): Promise<RunningServer> {
  const child = spawn(process.execPath, ['--import', REPORT_PORT, EVERYTHING, kind], { env: { ...process.env, PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let timer: NodeJS.Timeout | undefined;
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const onData = (c: Buffer) => {
      out += c;
      const m = /bound port (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`server-everything exited with ${code}: ${out}`)));
    timer = setTimeout(() => reject(new Error(`server-everything did not report its port within 15 s: ${out}`)), 15_000);
  }).catch(async (err) => {
    await stop(child);
    throw err;
  }).finally(() => clearTimeout(timer));
  return { url: `http://127.0.0.1:${port}/${kind === 'sse' ? 'sse' : 'mcp'}`, port, child, close: () => stop(child) };
}

/**
 * The SDK client's own validator, compiling a tool's output schema when a call of that tool is first checked rather
 * than for every tool at each tools/list: a list of the GitHub API's 1,000+ tools spent ~9 s of CPU in Ajv, for
 * schemas of tools the test never calls. Results are checked exactly as before.
 */
export class LazyOutputValidator implements jsonSchemaValidator {
  private readonly ajv = new AjvJsonSchemaValidator();
  getValidator<T>(schema: Parameters<jsonSchemaValidator['getValidator']>[0]): JsonSchemaValidator<T> {
    let compiled: JsonSchemaValidator<T> | undefined;
    return (input) => (compiled ??= this.ajv.getValidator<T>(schema))(input);
  }
}

/** An official SDK client connected through the gateway, over streamable HTTP (`/mcp`) or legacy SSE (`/sse`). */
export async function connectClient(url: string, options: { sse?: boolean; capabilities?: Record<string, unknown>; headers?: Record<string, string> } = {}): Promise<Client> {
  const client = new Client({ name: 'portcullis-test', version: '1.0.0' }, { capabilities: options.capabilities ?? {}, jsonSchemaValidator: new LazyOutputValidator() });
  const requestInit = options.headers ? { requestInit: { headers: options.headers } } : undefined;
  const transport = options.sse ? new SSEClientTransport(new URL(url), requestInit) : new StreamableHTTPClientTransport(new URL(url), requestInit);
  await client.connect(transport);
  return client;
}

/** The text of a tool result's first content block. */
export function text(result: unknown): string {
  return ((result as { content: Array<{ text?: string }> }).content[0]?.text ?? '') as string;
}

export function mcpRoute(targets: unknown[], extra: Record<string, unknown> = {}, name = 'mcp') {
  return { name, backends: [{ mcp: { targets, ...extra } }] } as any;
}

/**
 * Settings for MCP test gateways. SDK clients can leave a keep-alive socket that never sends a request; the HTTP
 * server counts it as busy, so closing waits for the drain deadline: keep that short in tests.
 */
export const MCP_TEST_EXTRA = { shutdown: { drainTimeoutMs: 500 } };

/**
 * One 2026-07-28 request by hand, as a client of that era sends it: the `_meta` envelope (protocol version and
 * `capabilities`) and the mirrored `MCP-Protocol-Version`, `Mcp-Method` and `Mcp-Name` headers (the name from
 * `params.name`, `uri` or `taskId`). Answers as JSON or as SSE: `body` is the last message, `events` all of them.
 */
export async function postModern(
  url: string,
  body: Record<string, any>,
  options: { key?: string; capabilities?: Record<string, unknown>; signal?: AbortSignal; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: any; events: any[] }> {
  const version = '2026-07-28';
  const name = body.params?.name ?? body.params?.uri ?? body.params?.taskId;
  const res = await fetch(url, {
    method: 'POST',
    signal: options.signal,
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...(options.key ? { authorization: `Bearer ${options.key}` } : {}),
      ...options.headers,
      'mcp-protocol-version': version,
      'mcp-method': String(body.method),
      ...(typeof name === 'string' ? { 'mcp-name': name } : {}),
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      ...body,
      params: {
        ...body.params,
        _meta: {
          ...body.params?._meta,
          'io.modelcontextprotocol/protocolVersion': version,
          'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
          'io.modelcontextprotocol/clientCapabilities': options.capabilities ?? {},
        },
      },
    }),
  });
  const raw = await res.text();
  const events = raw.startsWith('{') ? [JSON.parse(raw)] : raw.split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)));
  return { status: res.status, body: events.at(-1), events };
}
