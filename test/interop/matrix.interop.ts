// The interop matrix: real servers and clients on the official MCP SDKs (built by `npm run setup:test`), paired
// through a real gateway and directly, one test per row of matrix.ts. Run with `npm run test:interop`.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { simpleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { MCP_TEST_EXTRA, mcpRoute } from '../helpers/mcp.ts';
import { limitOf, ROWS, rowName, type Row } from './matrix.ts';
import { BIG_CODEPOINTS, BIG_SHA256, buildStatus, FEATURES, PEERS, peer, runClient, startServer, TOOLS, type ClientReport, type Feature, type RunningPeer, type ServerTransport } from './peers.ts';

const status = buildStatus();
const built = (id: string) => status[id]?.status === 'built' || status[id]?.status === 'cached';
/** What only the gateway says: its error codes (PCL_ERR_…) and its JSON-RPC range (-32080…-32089). */
const GATEWAY_ERROR = /PCL_ERR_|-3208\d\b/;
const TOOL_NAMES = ['big', 'cancelled', 'echo', 'elicit', 'progress', 'sample', 'slow', 'started'];

/** Every feature's verdict for one report: undefined when it passed, else what was wrong. */
function verdict(f: Feature, r: ClientReport, row: Row): string | undefined {
  const step = { initialize: 'server', list: 'tools', echo: 'echo', big: 'big', progress: 'progress', cancel: 'cancel', sampling: 'sampling', elicitation: 'elicitation' }[f];
  if (r.errors.scenario && r[step as keyof ClientReport] === undefined) return `scenario: ${r.errors.scenario}`;
  if (r.errors[step]) return r.errors[step];
  const ok = (cond: boolean, got: unknown) => (cond ? undefined : `got ${JSON.stringify(got)?.slice(0, 300)}`);
  switch (f) {
    case 'initialize':
      return ok(row.via === 'direct' ? r.server === row.server : typeof r.server === 'string' && r.server.length > 0, r.server);
    case 'list':
      return ok(JSON.stringify(r.tools) === JSON.stringify(TOOL_NAMES), r.tools);
    case 'echo':
      return ok(r.echo === 'echo: héllo 漢 😀', r.echo);
    case 'big':
      return ok(r.big?.sha256 === BIG_SHA256 && r.big.serverSha256 === BIG_SHA256 && r.big.codepoints === BIG_CODEPOINTS, r.big);
    case 'progress':
      return ok(r.progress === 3, r.progress);
    case 'cancel':
      return ok(r.cancel?.ended === 'cancelled' && r.cancel.serverSaw >= 1, r.cancel);
    case 'sampling':
      return ok(r.sampling === 'sampled: pong to ping', r.sampling);
    case 'elicitation':
      return ok(r.elicitation === 'elicited: accept interop', r.elicitation);
  }
}

// Servers and gateways are shared by the rows that need the same one; started on first use, closed at the end.
const servers = new Map<string, Promise<RunningPeer>>();
const gateways = new Map<string, Promise<TestGateway>>();
const once = <T>(map: Map<string, Promise<T>>, key: string, start: () => Promise<T>) => {
  if (!map.has(key)) map.set(key, start());
  return map.get(key)!;
};
const httpServer = (id: string, t: Exclude<ServerTransport, 'stdio'>) => once(servers, `${id}:${t}`, () => startServer(peer(id), t));

async function target(id: string, t: ServerTransport) {
  const name = `${id}-${t}`;
  if (t === 'stdio') {
    const [cmd, ...args] = peer(id).server('stdio');
    return { name, stdio: { cmd: cmd!, args } };
  }
  const url = (await httpServer(id, t)).url!;
  return t === 'sse' ? { name, sse: { url } } : { name, mcp: { url } };
}

const gateway = (id: string, t: ServerTransport) =>
  once(gateways, `${id}:${t}`, async () => startTestGateway(simpleConfig([mcpRoute([await target(id, t)], { requestTimeoutMs: 60_000 })], MCP_TEST_EXTRA)));

interface Result {
  row: Row;
  name: string;
  features: Record<Feature, string>;
}
const results: Result[] = [];

after(async () => {
  for (const g of gateways.values()) await (await g.catch(() => undefined))?.close();
  for (const s of servers.values()) await (await s.catch(() => undefined))?.close();
  mkdirSync(TOOLS, { recursive: true });
  writeFileSync(`${TOOLS}/results.json`, `${JSON.stringify(results, null, 2)}\n`);
});

describe('interop peers', () => {
  it('every peer was built by `npm run setup:test`, or its failure names the reason', (t) => {
    assert.ok(Object.keys(status).length > 0, `no ${TOOLS}/status.json: run "npm run setup:test" first`);
    for (const p of PEERS) {
      assert.ok(status[p.id], `${p.id} is missing from ${TOOLS}/status.json: run "npm run setup:test"`);
      if (built(p.id)) continue;
      assert.ok(status[p.id]!.reason, `${p.id} failed to build without a reason`);
      // Its rows are left out of the matrix below; say which and why.
      t.diagnostic(`${p.id} did not build here, its pairs are left out: ${status[p.id]!.reason}`);
    }
  });
});

// One describe, so rows of every group share the concurrency (each row waits mostly on its peer processes).
describe('interop matrix', { concurrency: 6 }, () => {
  for (const row of ROWS.filter((r) => built(r.server) && built(r.client))) {
    const name = `${row.group[0]}: ${rowName(row)}`;
    it(name, async (t) => {
      let targetArgs: string[];
      if (row.via === 'gateway') {
        const gw = await gateway(row.server, row.serverTransport);
        targetArgs = [`${gw.url()}/${row.clientTransport === 'sse' ? 'sse' : 'mcp'}`];
      } else if (row.serverTransport === 'stdio') {
        targetArgs = peer(row.server).server('stdio');
      } else {
        targetArgs = [(await httpServer(row.server, row.serverTransport)).url!];
      }
      const { report, stderr } = await runClient(peer(row.client), row.clientTransport, targetArgs);
      const features = {} as Record<Feature, string>;
      const failures: Record<string, string> = {};
      for (const f of FEATURES) {
        const wrong = verdict(f, report, row);
        const limit = limitOf(row, f);
        // A limit excuses what the SDK does, never an error the gateway made (its own codes): that fails the cell.
        const gatewayMade = wrong !== undefined && row.via === 'gateway' && GATEWAY_ERROR.test(wrong);
        features[f] = wrong === undefined ? 'pass' : limit && !gatewayMade ? `SDK limit: ${limit.reason}` : `FAIL: ${wrong}`;
        if (wrong !== undefined && (!limit || gatewayMade)) failures[f] = wrong;
      }
      results.push({ row, name, features });
      t.diagnostic(Object.entries(features).map(([f, v]) => `${f}: ${v.slice(0, 160)}`).join('\n'));
      assert.deepEqual(failures, {}, `client stderr:\n${stderr.slice(-1500)}`);
    });
  }
});
