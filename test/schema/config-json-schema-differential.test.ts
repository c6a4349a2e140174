import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';
import { fromAgentgateway } from '../../core/config/agentgateway.ts';
import { gatewaySchema } from '../../core/config/gateway-schema.ts';
import type { Issue } from '../../core/schema/schema.ts';
import { builtinPolicies } from '../../policies/index.ts';
import { builtinBackends } from '../../core/gateway/backends.ts';
import { CONFIG_SCHEMA_FILE } from '../../schema/generate.ts';

/**
 * Differential: the committed JSON Schema and the runtime schema judge the same configs. Hand-written bad configs
 * (one shape mistake each) are refused by both; mutations of every example (an unknown key on each object, a
 * wrong-typed or null value at each leaf) get the same verdict from both; and a key removed anywhere is never
 * refused by the JSON Schema alone (an editor must not flag a config the gateway runs).
 */

const ROOT = new URL('../../', import.meta.url).pathname;
const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
(addFormats as unknown as (a: Ajv2020) => void)(ajv);
// The editors' message for a pattern (yaml-language-server, VS Code): an annotation to ajv.
ajv.addKeyword('patternErrorMessage');
const validateJson = ajv.compile(JSON.parse(readFileSync(CONFIG_SCHEMA_FILE, 'utf8')));
const runtime = gatewaySchema(builtinPolicies, builtinBackends);

function runtimeIssues(raw: unknown): Issue[] {
  const issues: Issue[] = [];
  runtime.check(raw, '', issues);
  return issues;
}
const runtimeValid = (raw: unknown) => runtimeIssues(raw).length === 0;
const jsonValid = (raw: unknown) => validateJson(raw) as boolean;

const host = { host: '127.0.0.1:8080' };
/** A valid config with `patch` applied to its one route (or, with `at: 'root'`, to the root). */
function withRoute(route: Record<string, unknown>): unknown {
  return { binds: [{ port: 3000, listeners: [{ routes: [{ backends: [host], ...route }] }] }] };
}
function withRoot(root: Record<string, unknown>): unknown {
  return { ...(withRoute({}) as object), ...root };
}
const mcpTarget = (target: Record<string, unknown>) => withRoute({ backends: [{ mcp: { targets: [{ name: 't', ...target }] } }] });

const BAD: Array<[string, unknown]> = [
  ['no binds', {}],
  ['empty binds', { binds: [] }],
  ['a port as a string', { binds: [{ port: '3000', listeners: [{ routes: [] }] }] }],
  ['a port above 65535', { binds: [{ port: 70000, listeners: [{ routes: [] }] }] }],
  ['an unknown root key', withRoot({ bogus: true })],
  ['a listener without routes', { binds: [{ port: 1, listeners: [{}] }] }],
  ['an unknown protocol', { binds: [{ port: 1, listeners: [{ protocol: 'FTP', routes: [] }] }] }],
  ['an unknown route key', withRoute({ bogus: 1 })],
  ['a backend of two kinds', withRoute({ backends: [{ ...host, mcp: { targets: [] } }] })],
  ['a backend of no kind', withRoute({ backends: [{ weight: 1 }] })],
  ['a host without a port', withRoute({ backends: [{ host: 'example.com' }] })],
  ['a negative weight', withRoute({ backends: [{ ...host, weight: -1 }] })],
  ['an MCP target name with a space', mcpTarget({ name: 'a b', stdio: { cmd: 'x' } })],
  ['a stdio target without cmd', mcpTarget({ stdio: { args: [] } })],
  ['a target with an unknown transport key', mcpTarget({ stdio: { cmd: 'x', shell: true } })],
  ['inheritEnv as a string', mcpTarget({ stdio: { cmd: 'x', inheritEnv: 'PATH' } })],
  ['cors origins as a string', withRoute({ policies: { cors: { allowOrigins: '*' } } })],
  ['an unknown policy', withRoute({ policies: { nope: {} } })],
  ['a limit with rate and quota', withRoute({ policies: { rateLimit: { limits: [{ rate: { limit: 1, windowMs: 1000 }, quota: { limit: 1, period: 'day' } }] } } })],
  ['an unknown key part', withRoute({ policies: { rateLimit: { limits: [{ key: ['bogus'], rate: { limit: 1, windowMs: 1000 } }] } } })],
  ['a rule with allow and deny', withRoute({ policies: { authorization: { rules: [{ allow: 'true', deny: 'false' }] } } })],
  ['an unknown log level', withRoot({ logging: { level: 'loud' } })],
  ['zero workers', withRoot({ workers: 0 })],
  ['workers as a word', withRoot({ workers: 'many' })],
  ['an admin address without a port', withRoot({ admin: { address: 'localhost' } })],
  ['an admin token from two sources', withRoot({ admin: { token: { secret: 'a', env: 'B' } } })],
  ['a sampler ratio above 1', withRoot({ tracing: { samplerRatio: 2 } })],
  ['an exact path without "/"', withRoute({ matches: [{ path: { exact: 'api' } }] })],
  ['a path match of two kinds', withRoute({ matches: [{ path: { exact: '/a', pathPrefix: '/b' } }] })],
  ['a header name with a space', withRoute({ matches: [{ headers: [{ name: 'bad header', value: { exact: 'x' } }] }] })],
  ['a lower-case method', withRoute({ matches: [{ method: 'get' }] })],
  ['an invalid regex', withRoute({ matches: [{ path: { regex: '(' } }] })],
  ['a signer claim the signer owns', withRoute({ policies: { backendAuth: { jwtSign: { signingKey: { env: 'K' }, alg: 'RS256', claims: { exp: 1 } } } } })],
  ['an abort status of 100', withRoute({ policies: { abort: { status: 100 } } })],
  ['a filter without config object', withRoute({ policies: { filters: [{ name: 'f', module: './f.ts', config: 'x' }] } })],
  ['accessLog as a string', withRoot({ logging: { accessLog: 'yes' } })],
  ['a rate-limit store of another kind', withRoute({ policies: { rateLimit: { store: 'memcached', limits: [{ rate: { limit: 1, windowMs: 1000 } }] } } })],
];

/** Each example's config as plain data: gateway.config.ts evaluated, agentgateway YAML translated. */
async function examples(): Promise<Array<[string, unknown]>> {
  const out: Array<[string, unknown]> = [];
  for (const dir of readdirSync(join(ROOT, 'examples'))) {
    const file = join(ROOT, 'examples', dir, 'gateway.config.ts');
    let mod: { default: unknown };
    try {
      readFileSync(file);
    } catch {
      continue;
    }
    mod = (await import(pathToFileURL(file).href)) as { default: unknown };
    const value = typeof mod.default === 'function' ? await (mod.default as () => unknown)() : mod.default;
    out.push([`examples/${dir}/gateway.config.ts`, JSON.parse(JSON.stringify(value))]);
  }
  for (const file of ['examples/basic/config.yaml', 'examples/openapi/config.yaml', 'examples/mcp-authentication/agentgateway/config.yaml']) {
    out.push([file, fromAgentgateway(parse(readFileSync(join(ROOT, file), 'utf8')), [])]);
  }
  return out;
}

type Path = Array<string | number>;
/** Every place in a value: objects, arrays and leaves, with the path to each. */
function places(value: unknown, at: Path = [], out: Array<{ at: Path; value: unknown }> = []) {
  out.push({ at, value });
  if (Array.isArray(value)) value.forEach((v, i) => places(v, [...at, i], out));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) places(v, [...at, k], out);
  return out;
}
function edit(root: unknown, at: Path, change: (parent: any, key: string | number) => void): unknown {
  const copy = structuredClone(root);
  let parent: any = copy;
  for (const key of at.slice(0, -1)) parent = parent[key];
  change(parent, at[at.length - 1]);
  return copy;
}
const show = (at: Path) => at.map((k) => (typeof k === 'number' ? `[${k}]` : `.${k}`)).join('') || '(root)';
/** A value of another JSON type than `v`. */
const otherType = (v: unknown): unknown => (typeof v === 'string' ? 42 : typeof v === 'number' ? 'x' : typeof v === 'boolean' ? 'x' : Array.isArray(v) ? 'x' : v && typeof v === 'object' ? 'x' : 0);

describe('the JSON Schema and the runtime schema agree', () => {
  it('both refuse each config with a shape mistake', () => {
    const slipped: string[] = [];
    for (const [what, raw] of BAD) {
      assert.ok(!runtimeValid(raw), `the runtime schema refuses ${what}`);
      if (jsonValid(raw)) slipped.push(what);
    }
    assert.deepEqual(slipped, [], 'the JSON Schema accepts configs the runtime refuses');
  });

  it('give the same verdict on every example with an unknown key, a null or a wrong-typed value at each place', async () => {
    const disagree: string[] = [];
    let cases = 0;
    for (const [file, config] of await examples()) {
      for (const { at, value } of places(config)) {
        const mutations: Array<[string, unknown]> = [];
        if (value !== null && typeof value === 'object' && !Array.isArray(value)) mutations.push(['unknown key', edit(config, [...at, 'zz'], (p, k) => (p[k] = 1))]);
        if (at.length > 0) {
          mutations.push(['null', edit(config, at, (p, k) => (p[k] = null))]);
          mutations.push(['other type', edit(config, at, (p, k) => (p[k] = otherType(p[k])))]);
        }
        for (const [kind, raw] of mutations) {
          cases++;
          const r = runtimeValid(raw);
          const j = jsonValid(raw);
          if (r !== j) disagree.push(`${file} ${show(at)} ${kind}: runtime ${r ? 'accepts' : 'refuses'}, JSON Schema ${j ? 'accepts' : 'refuses'}`);
        }
      }
    }
    assert.ok(cases > 500, `${cases} mutations`);
    assert.deepEqual(disagree, []);
  });

  it('never refuses, with the JSON Schema alone, an example with a key removed', async () => {
    const stricter: string[] = [];
    for (const [file, config] of await examples()) {
      for (const { at } of places(config)) {
        if (at.length === 0 || typeof at[at.length - 1] === 'number') continue;
        const raw = edit(config, at, (p, k) => delete p[k]);
        if (!jsonValid(raw) && runtimeValid(raw)) stricter.push(`${file} without ${show(at)}`);
      }
    }
    assert.deepEqual(stricter, []);
  });
});
