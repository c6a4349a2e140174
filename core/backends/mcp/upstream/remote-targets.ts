import type { McpRemoteTarget } from '../../../../sdk-types/config.ts';
import { number, object, record, string } from '../../../schema/index.ts';
import { LegacySseTransport } from './legacy-sse.ts';
import { StreamableHttpTransport } from './streamable-http.ts';
import type { McpTargetContext, McpTargetKind } from './target-kind.ts';

const path = string({ pattern: /^\//, patternHint: 'a path starting with "/"' });

/** One schema object for both kinds: the JSON Schema generator names it once. */
const remoteTargetSchema = object(
  {
    url: string({ pattern: /^https?:\/\//, patternHint: 'an http(s) URL' }),
    host: string({ nonEmpty: true }),
    port: number({ integer: true, min: 1, max: 65535 }),
    path,
    headers: record(string()),
  },
  {
    refine(v, p, issues) {
      if (v.url === undefined && v.host === undefined) issues.push({ path: p, message: 'expected url or host' });
      // A URL here used to pass validation and then fail every session with "Invalid URL".
      if (typeof v.host === 'string' && v.host.includes('://')) issues.push({ path: `${p}.host`, message: `expected a host name, got the URL ${JSON.stringify(v.host)} (put a URL in url)` });
    },
  },
);

/** A target's URL: its `url`, else built from `host`, `port` and `path` (over `https` when the route has backend TLS). */
export function remoteUrl(remote: McpRemoteTarget, defaultPath: string, tls = false): URL {
  if (remote.url) return new URL(remote.url);
  const host = remote.host!.includes(':') && !remote.host!.startsWith('[') ? `[${remote.host}]` : remote.host!;
  const port = remote.port ?? (tls ? 443 : 80);
  return new URL(`${tls ? 'https' : 'http'}://${host}:${port}${remote.path ?? defaultPath}`);
}

function remoteOptions(remote: McpRemoteTarget, ctx: McpTargetContext) {
  return { target: ctx.target, headers: { ...remote.headers }, dispatcher: ctx.upstream, maxMessageBytes: ctx.maxMessageBytes };
}

/** `sse`: a legacy HTTP+SSE MCP server (a GET stream, messages POSTed to the endpoint it names). */
export const sseTargetKind: McpTargetKind<McpRemoteTarget> = {
  key: 'sse',
  schema: remoteTargetSchema,
  remote: true,
  create: (remote, ctx) => new LegacySseTransport(remoteUrl(remote, '/sse', ctx.upstream?.tls), remoteOptions(remote, ctx)),
};

/** `mcp`: a streamable-HTTP MCP server; its upstream session id travels in the session id to other replicas. */
export const streamableHttpTargetKind: McpTargetKind<McpRemoteTarget> = {
  key: 'mcp',
  schema: remoteTargetSchema,
  remote: true,
  resumable: true,
  eraProbe: true,
  reinitializeOn404: true,
  create: (remote, ctx) => new StreamableHttpTransport(remoteUrl(remote, '/mcp', ctx.upstream?.tls), remoteOptions(remote, ctx)),
};
