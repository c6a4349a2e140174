// New sessions answered from a target's snapshot, against stdio servers built on every official SDK (not our own
// fixtures): with a pool of one, the sessions after the first find no ready process, are answered from what the
// target's first process said (initialize, tools/list) while their own process starts, and then call a tool on that
// process. Each SDK's server must come out the same as through a fresh process: the same tools, the echo answered,
// and no tools/list_changed (these servers list the same tools in every process).
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { simpleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { connectClient, MCP_TEST_EXTRA, mcpRoute, text } from '../helpers/mcp.ts';
import { buildStatus, PEERS } from './peers.ts';

const status = buildStatus();
const TOOL_NAMES = ['big', 'cancelled', 'echo', 'elicit', 'progress', 'sample', 'slow', 'started'];
const SESSIONS = 3;

describe('sessions answered from a snapshot of another SDK’s stdio server', { concurrency: 2 }, () => {
  const open: Array<TestGateway | Client> = [];
  after(async () => {
    for (const x of open.reverse()) await x.close().catch(() => undefined);
  });

  for (const p of PEERS.filter((x) => x.serves.includes('stdio') && ['built', 'cached'].includes(status[x.id]?.status ?? ''))) {
    it(`${p.id}: ${SESSIONS} sessions in a row list the same tools and call their own process`, async () => {
      const [cmd, ...args] = p.server('stdio');
      const gw = await startTestGateway(
        simpleConfig([mcpRoute([{ name: p.id, stdio: { cmd: cmd!, args, warmPool: 1, warmPoolMax: 1 } }], { requestTimeoutMs: 60_000 })], MCP_TEST_EXTRA),
      );
      open.push(gw);
      // The pooled process's answers become the snapshot once it started.
      await gw.logs.waitFor((l) => l.msg?.startsWith('MCP target snapshot taken') && l.target === p.id, 60_000);

      const clients: Client[] = [];
      const changed: number[] = [];
      const lists: string[][] = [];
      for (let i = 0; i < SESSIONS; i++) {
        const client = await connectClient(`${gw.url()}/mcp`);
        open.push(client);
        client.setNotificationHandler(ToolListChangedNotificationSchema, () => void changed.push(i));
        lists.push((await client.listTools()).tools.map((t) => t.name.replace(/^[^_]+_/, '')).sort());
        clients.push(client);
      }
      for (const list of lists) assert.deepEqual(list, TOOL_NAMES);
      const echoes = await Promise.all(
        clients.map(async (c) => {
          const echo = (await c.listTools()).tools.find((t) => t.name.endsWith('echo'))!;
          return text(await c.callTool({ name: echo.name, arguments: { text: 'héllo 漢 😀' } }));
        }),
      );
      assert.deepEqual(echoes, Array(SESSIONS).fill('echo: héllo 漢 😀'));
      assert.deepEqual(changed, [], 'a server that lists the same tools in every process gets no tools/list_changed');
      // The second session at least found no ready process and was answered from the snapshot meanwhile (a server
      // that starts in a few ms, as Go's and Rust's do, may have a pooled process ready again for the third).
      const behind = gw.logs.lines.filter((l) => l.msg === 'MCP session answered from the target snapshot while its process starts' && l.target === p.id);
      assert.ok(behind.length >= 1, 'a session is answered from the snapshot');
      // Every session's own process started (a failed start would have dropped the snapshot and logged it).
      assert.equal(gw.logs.find((l) => l.msg === 'MCP target failed to start' || l.msg?.startsWith('MCP target snapshot dropped')), undefined);
    });
  }
});
