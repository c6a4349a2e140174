import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { simpleConfig, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { MCP_TEST_EXTRA, mcpRoute, spawnListening } from '../helpers/mcp.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SUITE = join(ROOT, 'node_modules/@modelcontextprotocol/conformance/dist/index.js');
const UPSTREAM = join(ROOT, 'test/fixtures/mcp/conformance-upstream.ts');
const EXPECTED = join(ROOT, 'test/mcp/conformance-expected-failures.yaml');

/**
 * The suite's two server legs: the default (2025-era scenarios) and every scenario at 2026-07-28. Results are keyed
 * `<scenario>@<leg>`, since a scenario may run in both.
 */
const LEGS: Array<{ name: string; args: string[] }> = [
  { name: '2025', args: [] },
  { name: '2026-07-28', args: ['--suite', 'all', '--spec-version', '2026-07-28'] },
];

/** Runs the official conformance suite's server scenarios against a URL, every leg; returns scenario@leg → passed. */
async function runSuite(url: string): Promise<Map<string, boolean>> {
  const all = new Map<string, boolean>();
  for (const leg of LEGS) for (const [name, ok] of await runLeg(url, leg.args)) all.set(`${name}@${leg.name}`, ok);
  return all;
}

async function runLeg(url: string, args: string[]): Promise<Map<string, boolean>> {
  const cwd = mkdtempSync(join(tmpdir(), 'pcl-conformance-'));
  try {
    // Asynchronously: the gateway under test shares this process's event loop.
    const child = spawn(process.execPath, [SUITE, 'server', '--url', url, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c) => (stdout += c));
    child.stderr!.on('data', (c) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
    await new Promise((r) => child.once('close', r));
    clearTimeout(timer);
    const summary = stdout.slice(stdout.indexOf('=== SUMMARY ==='));
    const results = new Map<string, boolean>();
    for (const m of summary.matchAll(/^([✓✗]) ([\w-]+): (\d+) passed, (\d+) failed$/gmu)) results.set(m[2], m[1] === '✓');
    assert.ok(results.size > 20, `the suite ran too few scenarios:\n${stdout.slice(-2000)}\n${stderr.slice(-2000)}`);
    return results;
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}

describe('MCP conformance suite (server scenarios): through the gateway as directly', () => {
  let upstream: ChildProcess;
  let port: number;
  let gw: TestGateway;

  before(async () => {
    ({ child: upstream, port } = await spawnListening([UPSTREAM, '0'], 'conformance upstream'));
    gw = await startTestGateway(simpleConfig([mcpRoute([{ name: 'conformance', mcp: { url: `http://127.0.0.1:${port}/mcp` } }])], MCP_TEST_EXTRA));
  });
  after(async () => {
    await gw?.close();
    upstream?.kill('SIGKILL');
  });

  it('every scenario that passes against the upstream directly passes through the gateway', { timeout: 900_000 }, async () => {
    const expected = parse(readFileSync(EXPECTED, 'utf8')) as { server: Array<{ scenario: string; reason: string }>; gateway: Array<{ scenario: string; reason: string }> };
    const allowed = new Set(expected.server.map((e) => e.scenario));
    // An entry without a leg (`@…`) stands for the scenario in every leg.
    const named = (key: string, list: Set<string>) => list.has(key) || list.has(key.split('@')[0]);
    const direct = await runSuite(`http://127.0.0.1:${port}/mcp`);
    const through = await runSuite(`${gw.url()}/mcp`);
    const mark = (ok: boolean | undefined) => (ok === undefined ? '-' : ok ? 'pass' : 'FAIL');
    const rows = [...new Set([...direct.keys(), ...through.keys()])].map((k) => `| ${k.replace('@', ' | ')} | ${mark(direct.get(k))} | ${mark(through.get(k))} |`);
    process.stdout.write(`| scenario | leg | direct | gateway |\n|---|---|---|---|\n${rows.join('\n')}\n`);
    const regressions = [...direct].filter(([name, ok]) => ok && through.get(name) !== true && !named(name, allowed)).map(([name]) => name);
    assert.deepEqual(regressions, [], `scenarios that pass directly but fail through the gateway: ${regressions.join(', ')}`);
    // An expected failure that passes again is stale: keep the file honest.
    const stale = [...allowed].filter((name) => [...through].some(([k, ok]) => ok && (k === name || k.split('@')[0] === name)));
    assert.deepEqual(stale, [], `expected failures that now pass (remove them from ${EXPECTED}): ${stale.join(', ')}`);
    const gatewayOwn = [...through.keys()].filter((k) => expected.gateway.some((e) => named(k, new Set([e.scenario]))) && through.get(k) !== true);
    assert.deepEqual(gatewayOwn, [], `scenarios the gateway must pass itself but failed through it: ${gatewayOwn.join(', ')}`);
    const passed = [...through.values()].filter(Boolean).length;
    const failed = (m: Map<string, boolean>) => [...m].filter(([, ok]) => !ok).map(([n]) => n).join(', ');
    process.stdout.write(
      `conformance through the gateway: ${passed} passed, ${through.size - passed} failed (${failed(through)}) of ${through.size}; directly: ${[...direct.values()].filter(Boolean).length} passed, failed: ${failed(direct)}\n`,
    );
  });
});
