import { spawn, type ChildProcess } from 'node:child_process';
import type { JsonRpcMessage } from '../../../protocol/jsonrpc.ts';
import type { UpstreamTransport } from './transport.ts';

/** Inherited from the gateway's environment by every stdio target; everything else must be given in `env`. */
const SAFE_ENV = ['HOME', 'LOGNAME', 'PATH', 'SHELL', 'TERM', 'USER', 'LANG', 'TMPDIR'];

/**
 * Proxy and CA settings, inherited too: without them `npx some-mcp-server` behind a corporate proxy or a private CA
 * cannot download anything and hangs until the initialize timeout. They name where to connect and whom to trust,
 * never a credential of the gateway's own (a proxy URL with a password in it is the user's explicit setting).
 */
export const PROXY_CA_ENV = [
  'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'ALL_PROXY', 'http_proxy', 'https_proxy', 'no_proxy', 'all_proxy',
  'NODE_EXTRA_CA_CERTS', 'SSL_CERT_FILE', 'SSL_CERT_DIR', 'REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE', 'PIP_CERT',
  'npm_config_proxy', 'npm_config_https_proxy', 'npm_config_noproxy', 'npm_config_cafile', 'npm_config_registry',
  'NPM_CONFIG_PROXY', 'NPM_CONFIG_HTTPS_PROXY', 'NPM_CONFIG_NOPROXY', 'NPM_CONFIG_CAFILE', 'NPM_CONFIG_REGISTRY',
];

/** Lines of a child's stderr kept for the error when it stops before answering. */
const STDERR_TAIL = 10;

/** Every live child, so that no child outlives the gateway even when it exits without closing its sessions. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of live) killGroup(child, 'SIGKILL');
  });
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    // The child leads its own process group, so wrappers like npx take their grandchildren with them.
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

/**
 * The child's environment: the safe variables, proxy and CA settings, what `inheritEnv` adds (`true`: the
 * gateway's whole environment; a list: those names too), then the target's own `env`.
 */
export function safeEnvironment(extra: Record<string, string> | undefined, inheritEnv: boolean | readonly string[] = false): Record<string, string> {
  const env: Record<string, string> = {};
  const names = inheritEnv === true ? Object.keys(process.env) : [...SAFE_ENV, ...PROXY_CA_ENV, ...(inheritEnv || [])];
  for (const key of names) {
    const value = process.env[key];
    // Exported shell functions look like `() { ...`; never pass them on.
    if (value !== undefined && !value.startsWith('()')) env[key] = value;
  }
  return { ...env, ...extra };
}

export interface StdioOptions {
  cmd: string;
  args: readonly string[];
  env: Record<string, string>;
  cwd: string;
  /** Called with each stderr line, for the log. */
  onStderr?: (line: string) => void;
}

/** MCP over a child's stdin/stdout: newline-delimited JSON-RPC. */
export class StdioTransport implements UpstreamTransport {
  onmessage?: (message: JsonRpcMessage) => void;
  onclose?: () => void;
  onerror?: (error: Error) => void;
  private child?: ChildProcess;
  private buffer = '';
  private closed = false;
  private readonly options: StdioOptions;
  private readonly stderrTail: string[] = [];
  /** Why the transport closed, when the process ended on its own: its exit and the last lines of its stderr. */
  closeReason?: string;
  /** How the process ended, once it has: its exit code, or the signal that stopped it. */
  exit?: { code: number | null; signal: string | null };

  constructor(options: StdioOptions) {
    this.options = options;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): Promise<void> {
    installExitHook();
    const cmd = this.options.cmd === 'node' ? process.execPath : this.options.cmd;
    return new Promise((resolve, reject) => {
      const child = spawn(cmd, [...this.options.args], {
        env: this.options.env,
        cwd: this.options.cwd,
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: true,
        shell: false,
      });
      this.child = child;
      child.once('error', (err) => {
        live.delete(child);
        if (child.pid === undefined) reject(err);
        else this.onerror?.(err);
        this.finish();
      });
      child.once('spawn', () => {
        live.add(child);
        resolve();
      });
      child.once('exit', (code, signal) => {
        live.delete(child);
        this.exit = { code, signal };
        if (!this.closing) this.closeReason = `the process exited (${signal ? `signal ${signal}` : `code ${code}`})${this.describeStderr()}`;
        // Descendants that kept the pipes open (wrappers like npx) would otherwise keep the transport, and the
        // gateway's event loop, alive.
        killGroup(child, 'SIGKILL');
        child.stdin?.destroy();
        child.stdout?.destroy();
        child.stderr?.destroy();
        this.finish();
      });
      child.stdout!.setEncoding('utf8');
      child.stdout!.on('data', (chunk: string) => this.read(chunk));
      child.stdin!.on('error', () => {});
      child.stderr!.setEncoding('utf8');
      let errBuf = '';
      child.stderr!.on('data', (chunk: string) => {
        errBuf += chunk;
        let nl: number;
        while ((nl = errBuf.indexOf('\n')) !== -1) {
          const line = errBuf.slice(0, nl).trimEnd();
          errBuf = errBuf.slice(nl + 1);
          if (!line) continue;
          this.stderrTail.push(line);
          if (this.stderrTail.length > STDERR_TAIL) this.stderrTail.shift();
          this.options.onStderr?.(line);
        }
        if (errBuf.length > 64 * 1024) errBuf = '';
      });
    });
  }

  /** `; its last stderr lines: a | b`, or nothing when it wrote none. */
  describeStderr(): string {
    return this.stderrTail.length === 0 ? '' : `; its last stderr lines: ${this.stderrTail.map((l) => l.slice(0, 300)).join(' | ')}`;
  }

  private closing = false;

  private read(chunk: string): void {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) !== -1) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      if (!line) continue;
      let message: JsonRpcMessage;
      try {
        message = JSON.parse(line);
      } catch {
        // Servers that print banners on stdout: not a message, not fatal.
        this.options.onStderr?.(`stdout (not JSON-RPC): ${line.slice(0, 200)}`);
        continue;
      }
      this.onmessage?.(message);
    }
  }

  async send(message: JsonRpcMessage): Promise<void> {
    const stdin = this.child?.stdin;
    if (!stdin || this.closed || stdin.destroyed) throw new Error('process is not running');
    if (!stdin.write(JSON.stringify(message) + '\n')) await new Promise<void>((r) => stdin.once('drain', r));
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.onclose?.();
  }

  /** Ends stdin, then TERM, then KILL: a server that ignores EOF is stopped within about a second. */
  async close(): Promise<void> {
    this.closing = true;
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      this.finish();
      return;
    }
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    const wait = (ms: number) => Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms).unref())]);
    child.stdin?.end();
    if (!(await wait(300))) {
      killGroup(child, 'SIGTERM');
      if (!(await wait(700))) {
        killGroup(child, 'SIGKILL');
        await wait(1000);
      }
    }
    this.finish();
  }
}
