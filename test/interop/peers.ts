// The interop peers: one server and one client per official MCP SDK, built by `npm run setup:test`
// (scripts/setup-test.mjs) into .tools/interop/. Their contract is test/fixtures/interop/README.md.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const fixtures = `${root}test/fixtures/interop`;
export const TOOLS = `${root}.tools/interop`;

export type ServerTransport = 'stdio' | 'http-json' | 'http-sse' | 'sse';
export type ClientTransport = 'stdio' | 'streamable' | 'sse';
export type Feature = 'initialize' | 'list' | 'echo' | 'big' | 'progress' | 'cancel' | 'sampling' | 'elicitation';
export const FEATURES: readonly Feature[] = ['initialize', 'list', 'echo', 'big', 'progress', 'cancel', 'sampling', 'elicitation'];

export interface Peer {
  /** The peer's id: the name its server reports and the key in .tools/interop/status.json. */
  id: string;
  /** The SDK and version, for the README table. */
  sdk: string;
  /** Transports its server serves and its client speaks. */
  serves: readonly ServerTransport[];
  speaks: readonly ClientTransport[];
  server(transport: ServerTransport): string[];
  client(transport: ClientTransport, target: string[]): string[];
}

const node = (file: string) => [process.execPath, '--no-node-snapshot', file];
const python = (major: number) => `${TOOLS}/python-mcp${major}/bin/python3`;

export const PEERS: readonly Peer[] = [
  {
    id: 'ts-v1',
    sdk: '@modelcontextprotocol/sdk 1.x',
    serves: ['stdio', 'http-json', 'http-sse', 'sse'],
    speaks: ['stdio', 'streamable', 'sse'],
    server: (t) => [...node(`${fixtures}/ts-v1/server.ts`), t],
    client: (t, target) => [...node(`${fixtures}/ts-v1/client.ts`), t, ...target],
  },
  {
    id: 'ts-v2',
    sdk: '@modelcontextprotocol/server + client 2.x',
    serves: ['stdio', 'http-json', 'http-sse'],
    speaks: ['stdio', 'streamable', 'sse'],
    server: (t) => [...node(`${fixtures}/ts-v2/server.ts`), t],
    client: (t, target) => [...node(`${fixtures}/ts-v2/client.ts`), t, ...target],
  },
  {
    id: 'python-mcp1',
    sdk: 'mcp (PyPI) 1.x, FastMCP',
    serves: ['stdio', 'http-json', 'http-sse', 'sse'],
    speaks: ['stdio', 'streamable', 'sse'],
    server: (t) => [python(1), `${fixtures}/python/server.py`, t],
    client: (t, target) => [python(1), `${fixtures}/python/client.py`, t, ...target],
  },
  {
    id: 'python-mcp2',
    sdk: 'mcp (PyPI) 2.x, MCPServer',
    serves: ['stdio', 'http-json', 'http-sse', 'sse'],
    speaks: ['stdio', 'streamable', 'sse'],
    server: (t) => [python(2), `${fixtures}/python/server.py`, t],
    client: (t, target) => [python(2), `${fixtures}/python/client.py`, t, ...target],
  },
  {
    id: 'go',
    sdk: 'github.com/modelcontextprotocol/go-sdk',
    serves: ['stdio', 'http-json', 'http-sse', 'sse'],
    speaks: ['stdio', 'streamable', 'sse'],
    server: (t) => [`${TOOLS}/go/server`, t],
    client: (t, target) => [`${TOOLS}/go/client`, t, ...target],
  },
  {
    id: 'rust',
    sdk: 'rmcp (crates.io)',
    serves: ['stdio', 'http-json', 'http-sse'],
    speaks: ['stdio', 'streamable'],
    server: (t) => [`${TOOLS}/rust/server`, t],
    client: (t, target) => [`${TOOLS}/rust/client`, t, ...target],
  },
  {
    id: 'java',
    sdk: 'io.modelcontextprotocol.sdk:mcp (Maven)',
    serves: ['stdio', 'http-sse', 'sse'],
    speaks: ['stdio', 'streamable', 'sse'],
    server: (t) => ['/usr/bin/java', '-cp', `${TOOLS}/java/interop.jar`, 'interop.Server', t],
    client: (t, target) => ['/usr/bin/java', '-cp', `${TOOLS}/java/interop.jar`, 'interop.Client', t, ...target],
  },
];

export const peer = (id: string): Peer => {
  const p = PEERS.find((x) => x.id === id);
  if (!p) throw new Error(`no interop peer ${id}`);
  return p;
};

export interface BuildStatus {
  status: 'built' | 'cached' | 'failed';
  reason?: string;
  version?: string;
}

/** What the last `npm run setup:test` recorded per peer (empty when it never ran). */
export function buildStatus(): Record<string, BuildStatus> {
  const file = `${TOOLS}/status.json`;
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
}

export const UNIT = 'àéîõü ßçñ Ωλ 漢字かなカナ 한국 😀🚀🎉🧪 mixé漢😀|';
export const BIG_CODEPOINTS = [...UNIT].length * 9000;
export const BIG_SHA256 = createHash('sha256').update(UNIT.repeat(9000), 'utf8').digest('hex');

export interface RunningPeer {
  child: ChildProcess;
  /** `http://127.0.0.1:<port>/mcp` or `/sse` for HTTP servers. */
  url?: string;
  stderr(): string;
  close(): Promise<void>;
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => {
    child.once('exit', () => r());
    child.kill('SIGKILL');
  });
}

/** Starts an HTTP server peer and waits for its `listening <port>` line (bounded: 60 s, for a cold JVM). */
export async function startServer(p: Peer, transport: Exclude<ServerTransport, 'stdio'>): Promise<RunningPeer> {
  const [cmd, ...args] = p.server(transport);
  const child = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (c) => (err = (err + c).slice(-4000)));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${p.id} ${transport} server did not print its port within 60 s: ${out} ${err}`)), 60_000);
    child.stdout!.on('data', (c) => {
      out += c;
      const m = /listening (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${p.id} ${transport} server exited with ${code}: ${err}`));
    });
  }).catch(async (e) => {
    await stop(child);
    throw e;
  });
  child.stdout!.resume();
  return { child, url: `http://127.0.0.1:${port}/${transport === 'sse' ? 'sse' : 'mcp'}`, stderr: () => err, close: () => stop(child) };
}

/** What a client peer reports (see the fixtures README). */
export interface ClientReport {
  server?: string;
  tools?: string[];
  echo?: string;
  big?: { sha256: string; codepoints: number; serverSha256: string };
  progress?: number;
  cancel?: { ended: string; serverSaw: number };
  sampling?: string;
  elicitation?: string;
  errors: Record<string, string>;
}

/** Runs a client peer to its end (bounded: 90 s) and parses its report. */
export async function runClient(p: Peer, transport: ClientTransport, target: string[]): Promise<{ report: ClientReport; stderr: string }> {
  const [cmd, ...args] = p.client(transport, target);
  const child = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c) => (out += c));
  child.stderr!.on('data', (c) => (err = (err + c).slice(-4000)));
  const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
  const code = await new Promise<number | null>((r) => child.once('close', r));
  clearTimeout(timer);
  const line = out.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (!line) return { report: { errors: { scenario: `the ${p.id} client printed no report (exit ${code}): ${err.slice(-1500)}` } }, stderr: err };
  return { report: JSON.parse(line) as ClientReport, stderr: err };
}
