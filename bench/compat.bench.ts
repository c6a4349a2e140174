// agentgateway compatibility: what CEL authorization costs per decision, and what reading an agentgateway YAML costs
// at load. In process, bounded (~10 s).
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../core/config/index.ts';
import type { McpListItem, RequestContext } from '../core/pipeline/index.ts';
import { RequestVars, StateStore } from '../core/state/index.ts';
import { createLogger } from '../core/telemetry/index.ts';
import { mcpAuthorization } from '../policies/authorization/mcp-authorization.ts';
import { builtinPolicies } from '../policies/index.ts';
import { builtinBackends } from '../core/gateway/backends.ts';
import { percentile, type BenchSection } from './report.ts';

const RULES = [
  'mcp.tool.name == "echo"',
  'jwt.sub == "test-user" && mcp.tool.name == "whoami"',
  'mcp.tool.name == "headers" && jwt.nested.key == "value"',
  { deny: 'mcp.tool.name == "crash"' },
];
const us = (ns: number) => Math.round(ns / 10) / 100;

export async function bench(): Promise<BenchSection> {
  const logger = createLogger({ level: 'silent' });
  const instance = await mcpAuthorization.create({ rules: RULES }, { baseDir: '/', path: 'bench', upstream: {} as any, logger, state: new StateStore(), scope: 'bench' });
  const hooks = instance.mcp!;
  const ctx = {
    vars: new RequestVars(),
    clientHeaders: { host: 'localhost:3000', 'content-type': 'application/json', 'mcp-session-id': 'abc' },
    method: 'POST',
    path: '/mcp',
    search: '',
    scheme: 'http',
    authority: 'localhost:3000',
    clientAddress: '127.0.0.1',
    routeName: 'r',
    identity: { kind: 'jwt', subject: 'test-user', roles: [], claims: { sub: 'test-user', iss: 'agentgateway.dev', nested: { key: 'value' }, exp: 2_000_000_000 } },
    log: logger,
  } as unknown as RequestContext;
  const items: McpListItem[] = ['echo', 'whoami', 'headers', 'crash', 'slow'].map((name) => ({ kind: 'tool', name, target: 't', item: {} }));
  const cel: number[] = [];
  const baseline: number[] = [];
  const deadline = Date.now() + 6_000;
  for (let round = 0; round < 40_000 && Date.now() < deadline; round++) {
    const item = items[round % items.length];
    let t = process.hrtime.bigint();
    await hooks.allowListItem!(ctx, item);
    cel.push(Number(process.hrtime.bigint() - t));
    t = process.hrtime.bigint();
    await Promise.resolve(item.name !== 'crash');
    baseline.push(Number(process.hrtime.bigint() - t));
  }
  const file = fileURLToPath(new URL('../test/fixtures/agentgateway/authorization.yaml', import.meta.url));
  const loads: number[] = [];
  const loadDeadline = Date.now() + 4_000;
  for (let i = 0; i < 50 && Date.now() < loadDeadline; i++) {
    const t = process.hrtime.bigint();
    await loadConfig(file, builtinPolicies, builtinBackends);
    loads.push(Number(process.hrtime.bigint() - t));
  }
  return {
    title: 'agentgateway compatibility: CEL authorization per decision, YAML load',
    rows: [
      { what: 'mcpAuthorization, 4 CEL rules, one listed tool (JWT identity)', n: cel.length, 'p50 µs': us(percentile(cel, 50)), 'p99 µs': us(percentile(cel, 99)) },
      { what: 'baseline: an awaited decision that evaluates nothing', n: baseline.length, 'p50 µs': us(percentile(baseline, 50)), 'p99 µs': us(percentile(baseline, 99)) },
      { what: 'load authorization.yaml (translate, validate, compile CEL)', n: loads.length, 'p50 µs': us(percentile(loads, 50)), 'p99 µs': us(percentile(loads, 99)) },
    ],
    notes: [
      'The request part of the CEL activation (request, source, jwt) is built once per request and reused for every message and listed item; only `mcp` is new per decision.',
      'Rules are parsed and type-checked once at load; a decision evaluates at most every rule once (deny, then require, then allow).',
    ],
  };
}
