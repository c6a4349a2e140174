import { resolve as resolvePath } from 'node:path';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { fetch as undiciFetch, type Dispatcher } from 'undici';
import type { McpRemoteTarget, McpTarget } from '../../../../sdk-types/config.ts';
import type { JsonRpcMessage } from '../jsonrpc.ts';
import { safeEnvironment, StdioTransport } from './stdio.ts';
import { StreamableHttpTransport } from './streamable-http.ts';

/** The part of the MCP SDK's Transport the gateway uses; stdio is our own, HTTP ones are the SDK's. */
export interface UpstreamTransport {
  start(): Promise<void>;
  send(message: JsonRpcMessage): Promise<void>;
  close(): Promise<void>;
  onmessage?: (message: JsonRpcMessage) => void;
  onclose?: () => void;
  onerror?: (error: Error) => void;
  /** Streamable HTTP: the negotiated version goes into every later request's header. */
  setProtocolVersion?(version: string): void;
}

export type TargetKind = 'stdio' | 'sse' | 'mcp';

export function targetKind(target: McpTarget): TargetKind {
  return target.stdio ? 'stdio' : target.sse ? 'sse' : 'mcp';
}

/** A target's URL: its `url`, else built from `host`, `port` and `path` (over `https` when the route has backend TLS). */
export function remoteUrl(remote: McpRemoteTarget, kind: 'sse' | 'mcp', tls = false): URL {
  if (remote.url) return new URL(remote.url);
  const host = remote.host!.includes(':') && !remote.host!.startsWith('[') ? `[${remote.host}]` : remote.host!;
  const port = remote.port ?? (tls ? 443 : 80);
  return new URL(`${tls ? 'https' : 'http'}://${host}:${port}${remote.path ?? (kind === 'sse' ? '/sse' : '/mcp')}`);
}

export interface TransportEnv {
  baseDir: string;
  onStderr?: (line: string) => void;
  /**
   * Remote targets: the route's composed upstream dispatcher (backend TLS, credentials, time limits, retries,
   * error mapping). Without one, a plain shared pool.
   */
  upstream?: { dispatcher: Dispatcher; tls: boolean };
}

export function createTransport(target: McpTarget, env: TransportEnv): UpstreamTransport {
  if (target.stdio) {
    const s = target.stdio;
    return new StdioTransport({
      cmd: s.cmd,
      args: s.args ?? [],
      env: safeEnvironment(s.env),
      cwd: s.cwd ? resolvePath(env.baseDir, s.cwd) : env.baseDir,
      onStderr: env.onStderr,
    });
  }
  const kind = target.sse ? 'sse' : 'mcp';
  const remote = (target.sse ?? target.mcp)!;
  const url = remoteUrl(remote, kind, env.upstream?.tls);
  if (kind === 'mcp') return new StreamableHttpTransport(url, { ...remote.headers }, env.upstream?.dispatcher);
  // Legacy SSE targets go through the SDK's transport (a cold path, kept for compatibility), its requests through
  // the route's dispatcher like every other upstream call.
  const dispatcher = env.upstream?.dispatcher;
  const viaRoute = dispatcher && ((input: string | URL, init?: RequestInit) => undiciFetch(input, { ...(init as object), dispatcher }) as unknown as Promise<Response>);
  return adaptSdk(new SSEClientTransport(url, { requestInit: { headers: { ...remote.headers } }, ...(viaRoute ? { fetch: viaRoute } : {}) }));
}

function adaptSdk(sdk: SSEClientTransport): UpstreamTransport {
  const t: UpstreamTransport = {
    start: () => sdk.start(),
    send: (m) => sdk.send(m as JSONRPCMessage),
    close: () => sdk.close(),
    setProtocolVersion: (v) => sdk.setProtocolVersion(v),
  };
  sdk.onmessage = (m) => t.onmessage?.(m as JsonRpcMessage);
  sdk.onclose = () => t.onclose?.();
  sdk.onerror = (e) => t.onerror?.(e);
  return t;
}
