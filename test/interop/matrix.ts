// The interop matrix as one table: a pair is one row. Rows are generated from the peers' transports; the limits
// below are what an SDK lacks or gets wrong on its own (each one seen failing in the direct baseline, without the
// gateway), with the reason. Everything else must pass, through the gateway and directly.
import { PEERS, peer, type ClientTransport, type Feature, type ServerTransport } from './peers.ts';

export interface Row {
  server: string;
  serverTransport: ServerTransport;
  client: string;
  /** How the client reaches the server, or the gateway (`streamable` is `/mcp`, `sse` is `/sse`). */
  clientTransport: ClientTransport;
  via: 'gateway' | 'direct';
  group: 'a: servers behind the gateway' | 'b: clients in front of the gateway' | 'c: cross pairs';
}

export const rowName = (r: Row) =>
  r.via === 'gateway'
    ? `${r.client} ─${r.clientTransport === 'sse' ? '/sse' : '/mcp'}▶ gateway ─${r.serverTransport}▶ ${r.server}`
    : `${r.client} ─${r.serverTransport}▶ ${r.server} (direct)`;

/** The client transport that reaches a server transport directly. */
const direct = (t: ServerTransport): ClientTransport => (t === 'stdio' ? 'stdio' : t === 'sse' ? 'sse' : 'streamable');

/** The upstreams every client meets in front of the gateway: TypeScript v1 and one Python server. */
export const CLIENT_UPSTREAMS: ReadonlyArray<{ server: string; transport: ServerTransport }> = [
  { server: 'ts-v1', transport: 'stdio' },
  { server: 'python-mcp1', transport: 'http-sse' },
];

/** A few pairs where neither side is TypeScript. */
const CROSS: ReadonlyArray<Pick<Row, 'client' | 'server' | 'serverTransport'>> = [
  { client: 'go', server: 'python-mcp2', serverTransport: 'stdio' },
  { client: 'python-mcp2', server: 'go', serverTransport: 'http-json' },
  { client: 'rust', server: 'java', serverTransport: 'http-sse' },
  { client: 'java', server: 'rust', serverTransport: 'http-sse' },
  { client: 'ts-v2', server: 'python-mcp2', serverTransport: 'sse' },
  { client: 'python-mcp1', server: 'ts-v2', serverTransport: 'http-json' },
];

function generate(): Row[] {
  const rows: Row[] = [];
  const add = (r: Row) => {
    if (!rows.some((x) => rowName(x) === rowName(r))) rows.push(r);
  };
  for (const s of PEERS) {
    for (const t of s.serves) {
      add({ server: s.id, serverTransport: t, client: 'ts-v1', clientTransport: direct(t), via: 'direct', group: 'a: servers behind the gateway' });
      add({ server: s.id, serverTransport: t, client: 'ts-v1', clientTransport: 'streamable', via: 'gateway', group: 'a: servers behind the gateway' });
    }
  }
  for (const c of PEERS) {
    for (const u of CLIENT_UPSTREAMS) {
      if (c.speaks.includes(direct(u.transport))) add({ server: u.server, serverTransport: u.transport, client: c.id, clientTransport: direct(u.transport), via: 'direct', group: 'b: clients in front of the gateway' });
      for (const t of ['streamable', 'sse'] as const) {
        if (c.speaks.includes(t)) add({ server: u.server, serverTransport: u.transport, client: c.id, clientTransport: t, via: 'gateway', group: 'b: clients in front of the gateway' });
      }
    }
  }
  for (const x of CROSS) {
    add({ ...x, clientTransport: direct(x.serverTransport), via: 'direct', group: 'c: cross pairs' });
    add({ ...x, clientTransport: 'streamable', via: 'gateway', group: 'c: cross pairs' });
  }
  for (const r of rows) {
    peer(r.server);
    peer(r.client);
  }
  return rows;
}

export const ROWS: readonly Row[] = generate();

export interface Limit {
  /** Which rows: every given field must match. */
  where: Partial<Pick<Row, 'server' | 'serverTransport' | 'client' | 'clientTransport' | 'via'>>;
  feature: Feature;
  /** Whose limit it is and why, as the README says it. */
  reason: string;
}

/** What an SDK lacks or gets wrong by itself; each was seen in the direct baseline. */
const TS_DROPS_PROGRESS =
  'drops progress notifications that arrive in the same read as the call\'s result: it dispatches notifications a microtask later, after the result has removed the call\'s progress handler (SDK bug; over streamable HTTP each event is its own read, so it does not show)';
const PY2_EVENT_LIMIT =
  'refuses an SSE event over 1 MiB ("Server-sent event exceeded the 1048576 byte limit"), and the Python 1.x server escapes every non-ASCII character (\\uXXXX), so the 315,000-character result is a 1.8 MB event';
const JSON_NO_STREAM = 'answering JSON, the server has no stream for what a call sends before its result, and drops it';

export const LIMITS: readonly Limit[] = [
  { where: { client: 'ts-v1', clientTransport: 'stdio' }, feature: 'progress', reason: `TypeScript SDK 1.x client over stdio ${TS_DROPS_PROGRESS}` },
  { where: { client: 'ts-v1', clientTransport: 'sse' }, feature: 'progress', reason: `TypeScript SDK 1.x client over legacy SSE ${TS_DROPS_PROGRESS}` },
  { where: { client: 'ts-v2', clientTransport: 'stdio' }, feature: 'progress', reason: `TypeScript SDK 2.x client over stdio ${TS_DROPS_PROGRESS}` },
  { where: { client: 'ts-v2', clientTransport: 'sse' }, feature: 'progress', reason: `TypeScript SDK 2.x client over legacy SSE ${TS_DROPS_PROGRESS}` },
  {
    where: { client: 'python-mcp1' },
    feature: 'cancel',
    reason: 'Python SDK 1.x client: cancelling a call (anyio cancel scope) stops waiting but never sends notifications/cancelled, so the server never sees it (2.x sends it)',
  },
  { where: { client: 'java' }, feature: 'cancel', reason: 'Java SDK client: McpSyncClient and McpAsyncClient have no way to cancel a call' },
  { where: { server: 'java' }, feature: 'cancel', reason: 'Java SDK server: the sync tool API hands a tool no cancellation signal, so a cancelled call runs on' },
  ...(['ts-v1', 'ts-v2', 'python-mcp1', 'python-mcp2'] as const).map((server) => ({
    where: { server, serverTransport: 'http-json' as const },
    feature: 'progress' as const,
    reason: `${server} server over streamable HTTP with JSON answers: ${JSON_NO_STREAM}`,
  })),
  ...(['sampling', 'elicitation'] as const).map((feature) => ({
    where: { server: 'ts-v1', serverTransport: 'http-json' as const },
    feature,
    reason: `ts-v1 server over streamable HTTP with JSON answers: ${JSON_NO_STREAM} (the ${feature} request never reaches the client)`,
  })),
  {
    where: { server: 'python-mcp1', serverTransport: 'http-json' },
    feature: 'elicitation',
    reason: `python-mcp1 server over streamable HTTP with JSON answers: ${JSON_NO_STREAM} (the elicitation request never reaches the client; sampling does)`,
  },
  {
    where: { server: 'python-mcp2', serverTransport: 'http-json' },
    feature: 'elicitation',
    reason: 'python-mcp2 server over streamable HTTP with JSON answers refuses: "Cannot send \'elicitation/create\': this transport context has no back-channel for server-initiated requests"',
  },
  {
    where: { client: 'python-mcp2', server: 'python-mcp1', via: 'direct' },
    feature: 'big',
    reason: `Python SDK 2.x client: ${PY2_EVENT_LIMIT}`,
  },
  // On legacy SSE every answer shares one stream: the refused event ends the session, and the steps after it fail.
  ...(['big', 'progress', 'cancel', 'sampling', 'elicitation'] as const).map((feature) => ({
    where: { client: 'python-mcp2', server: 'python-mcp1', clientTransport: 'sse' as const },
    feature,
    reason: `Python SDK 2.x client over legacy SSE: ${PY2_EVENT_LIMIT}; the gateway passes the upstream's JSON on unchanged, and the refused event ends the SSE session`,
  })),
  ...(['sampling', 'elicitation'] as const).map((feature) => ({
    where: { client: 'go', server: 'python-mcp2', via: 'direct' as const },
    feature,
    reason:
      'Go client and Python 2.x server negotiate protocol 2026-07-28, where a server may not send requests during a call (multi-round-trip input requests replace them) and the SDK refuses the push-style one; through the gateway the upstream session is 2025-era and it works',
  })),
  ...(['cancel', 'sampling', 'elicitation'] as const).map((feature) => ({
    where: { server: 'rust', serverTransport: 'http-json' as const },
    feature,
    reason:
      'rmcp answers JSON only in its stateless mode (no session): a notifications/cancelled POST cannot reach the call it names, and the server has no channel for requests to the client',
  })),
  {
    where: { client: 'python-mcp2', server: 'go', serverTransport: 'http-json', via: 'direct' },
    feature: 'progress',
    reason: 'Go server answering JSON sends a call\'s progress out of band on the session\'s GET stream; the Python 2.x client sees only some of it (through the gateway all arrive)',
  },
];

export const limitOf = (r: Row, f: Feature): Limit | undefined =>
  LIMITS.find((l) => l.feature === f && Object.entries(l.where).every(([k, v]) => (r as unknown as Record<string, unknown>)[k] === v));
