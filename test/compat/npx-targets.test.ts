import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../core/config/index.ts';
import { npxAutoInstalls, npxPackage } from '../../core/backends/mcp/upstream/npx.ts';
import { builtinPolicies } from '../../policies/index.ts';
import { builtinBackends } from '../../core/gateway/backends.ts';
import { configSource, send, simpleConfig, startTestGateway } from '../helpers/gateway.ts';
import { connectClient, MCP_TEST_EXTRA, mcpRoute, text } from '../helpers/mcp.ts';

const INIT = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } };
const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
const PKG = 'pcl-npx-probe';

/** A stdio MCP server with no dependencies, whose one tool answers what npm told it (`npm_config_yes`). */
const SERVER = `#!/usr/bin/env node
let buf = '';
const send = (m) => process.stdout.write(JSON.stringify(m) + '\\n');
process.stdin.setEncoding('utf8').on('data', (c) => {
  buf += c;
  let nl;
  while ((nl = buf.indexOf('\\n')) >= 0) {
    const msg = JSON.parse(buf.slice(0, nl));
    buf = buf.slice(nl + 1);
    if (msg.id === undefined) continue;
    if (msg.method === 'initialize') send({ jsonrpc: '2.0', id: msg.id, result: { protocolVersion: msg.params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'probe', version: '1.0.0' } } });
    else if (msg.method === 'tools/list') send({ jsonrpc: '2.0', id: msg.id, result: { tools: [{ name: 'npmConfigYes', inputSchema: { type: 'object' } }] } });
    else if (msg.method === 'tools/call') send({ jsonrpc: '2.0', id: msg.id, result: { content: [{ type: 'text', text: String(process.env.npm_config_yes) }] } });
    else send({ jsonrpc: '2.0', id: msg.id, error: { code: -32601, message: 'not found' } });
  }
});
`;

/**
 * A real npm registry for one package, on a loopback port: its packument and the tarball `npm pack` made. npx run by
 * the gateway fetches from it exactly as from registry.npmjs.org, into a fresh cache, so "not installed" is real.
 */
async function startRegistry(dir: string): Promise<{ url: string; server: Server; tarballRequests: () => number }> {
  const pkgDir = join(dir, 'pkg');
  await mkdir(pkgDir);
  await writeFile(join(pkgDir, 'package.json'), JSON.stringify({ name: PKG, version: '1.0.0', bin: { [PKG]: 'index.js' } }));
  await writeFile(join(pkgDir, 'index.js'), SERVER, { mode: 0o755 });
  const packed = spawnSync('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: pkgDir, encoding: 'utf8' });
  assert.equal(packed.status, 0, packed.stderr);
  const tarball = await readFile(join(dir, packed.stdout.trim()));
  let tarballs = 0;
  const server = createServer((req, res) => {
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    if (req.url === `/${PKG}`) {
      const dist = { tarball: `${base}/${PKG}/-/${PKG}-1.0.0.tgz`, shasum: createHash('sha1').update(tarball).digest('hex'), integrity: `sha512-${createHash('sha512').update(tarball).digest('base64')}` };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ name: PKG, 'dist-tags': { latest: '1.0.0' }, versions: { '1.0.0': { name: PKG, version: '1.0.0', bin: { [PKG]: 'index.js' }, dist } } }));
    } else if (req.url === `/${PKG}/-/${PKG}-1.0.0.tgz`) {
      tarballs++;
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(tarball);
    } else {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"error":"not found"}');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server, tarballRequests: () => tarballs };
}

describe('npx stdio targets start without a prompt', () => {
  let dir: string;
  let registry: Awaited<ReturnType<typeof startRegistry>>;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pcl-npx-'));
    registry = await startRegistry(dir);
  });
  after(async () => {
    registry.server.close();
    registry.server.closeAllConnections();
    await rm(dir, { recursive: true, force: true });
  });

  /** A target as agentgateway's examples write it (`cmd: npx`, the package, no -y), on a fresh npm cache. */
  const target = (name: string, extra: Record<string, unknown> = {}, args = [PKG]) => ({
    name,
    stdio: { cmd: 'npx', args, cwd: dir, warmPool: 0, env: { npm_config_registry: registry.url, npm_config_cache: join(dir, `cache-${name}`), npm_config_update_notifier: 'false', npm_config_audit: 'false', npm_config_fund: 'false' }, ...extra },
    requestTimeoutMs: 60_000,
  });

  it('a package not installed is fetched (npm_config_yes=true reaches the child), and the fetch is logged once', async () => {
    const gw = await startTestGateway(simpleConfig([mcpRoute([target('probe')], { prefixMode: 'never' })], MCP_TEST_EXTRA));
    try {
      const client = await connectClient(`${gw.url()}/mcp`);
      assert.equal(text(await client.callTool({ name: 'npmConfigYes', arguments: {} })), 'true');
      await client.close();
      assert.ok(registry.tarballRequests() >= 1);
      const logged = gw.logs.lines.filter((l) => l.msg?.startsWith('npx target:'));
      assert.equal(logged.length, 1, JSON.stringify(logged));
      assert.equal(logged[0].package, PKG);
      assert.equal(logged[0].target, 'probe');
    } finally {
      await gw.close();
    }
  });

  it('autoInstall: false leaves npx as it is: it cancels, and the session fails with npx\'s reason', async () => {
    const gw = await startTestGateway(simpleConfig([mcpRoute([target('optout', { autoInstall: false })])], MCP_TEST_EXTRA));
    try {
      const res = await send(`${gw.url()}/mcp`, { method: 'POST', headers: MCP_HEADERS, body: JSON.stringify(INIT) });
      assert.equal(res.status, 502);
      assert.match(res.text, /npx canceled due to missing packages and no YES option/);
      assert.ok(!gw.logs.raw().includes('npx target:'));
    } finally {
      await gw.close();
    }
  });

  it('a target that answers itself (-y, --no, npm_config_yes in env) or is not npx is left alone', () => {
    assert.equal(npxAutoInstalls({ cmd: 'npx', args: ['@modelcontextprotocol/server-everything'] }), true);
    assert.equal(npxAutoInstalls({ cmd: '/usr/local/bin/npx', args: ['pkg', '-y'] }), true, 'an option after the package is the package\'s');
    assert.equal(npxAutoInstalls({ cmd: 'npx', args: ['-y', 'pkg'] }), false);
    assert.equal(npxAutoInstalls({ cmd: 'npx', args: ['--yes', 'pkg'] }), false);
    assert.equal(npxAutoInstalls({ cmd: 'npx', args: ['--no', 'pkg'] }), false);
    assert.equal(npxAutoInstalls({ cmd: 'npx', args: ['pkg'], env: { npm_config_yes: 'false' } }), false);
    assert.equal(npxAutoInstalls({ cmd: 'npx', args: ['pkg'], autoInstall: false }), false);
    assert.equal(npxAutoInstalls({ cmd: 'uvx', args: ['pkg'] }), false);
    assert.equal(npxPackage(['-p', 'a', 'b']), 'a');
    assert.equal(npxPackage(['--package=x', 'y']), 'x');
    assert.equal(npxPackage(['--', 'z']), 'z');
  });

  it('autoInstall that is not a boolean is a config error with its path', async () => {
    const file = join(dir, 'gateway.config.ts');
    await writeFile(file, configSource(simpleConfig([mcpRoute([{ name: 'a', stdio: { cmd: 'npx', args: ['x'], autoInstall: 'no' } }])])));
    await assert.rejects(loadConfig(file, builtinPolicies, builtinBackends), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'PCL_ERR_CONFIG_INVALID');
      assert.equal(e.message.split('\n').slice(1).join('\n'), 'binds[0].listeners[0].routes[0].backends[0].mcp.targets[0].stdio.autoInstall: expected boolean, got string');
      return true;
    });
  });
});
