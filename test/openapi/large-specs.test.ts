import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { loadSpec, OpenApiApi, type LoadedSpec } from '../../core/backends/mcp/upstream/openapi/index.ts';
import { HTTP_METHODS } from '../../core/backends/mcp/upstream/openapi/operations.ts';

const require = createRequire(import.meta.url);
/** GitHub's REST API description (OpenAPI 3.0.3, 13 MB, 1,100+ operations, deeply nested $refs), from @octokit/openapi. */
const GITHUB = require.resolve('@octokit/openapi/generated/api.github.com.json');
/** Loading, validating and turning a spec this size into tools must stay within this, on a loaded CI machine. */
const LOAD_BUDGET_MS = 60_000;
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

/**
 * The same API as OpenAPI 3.1, converted mechanically the way the 3.1 changes say: `nullable` becomes a `null`
 * type, boolean exclusive bounds become numbers, `example` becomes `examples`.
 */
function to31(doc: any): any {
  const walk = (v: any): any => {
    if (Array.isArray(v)) return v.map(walk);
    if (!v || typeof v !== 'object') return v;
    const out: any = {};
    for (const [k, c] of Object.entries(v)) out[k] = walk(c);
    if (out.nullable === true) {
      delete out.nullable;
      if (typeof out.type === 'string') out.type = [out.type, 'null'];
      else if (!out.$ref && !out.type) out.anyOf = [...(out.anyOf ?? [{}]), { type: 'null' }];
    } else if (out.nullable === false) delete out.nullable;
    for (const [flag, bound] of [['exclusiveMinimum', 'minimum'], ['exclusiveMaximum', 'maximum']] as const) {
      if (out[flag] === true) {
        out[flag] = out[bound];
        delete out[bound];
      } else if (out[flag] === false) delete out[flag];
    }
    return out;
  };
  const converted = walk(doc);
  converted.openapi = '3.1.0';
  return converted;
}

function operations(doc: any): number {
  let n = 0;
  for (const item of Object.values(doc.paths ?? {}) as any[]) for (const m of HTTP_METHODS) if (item[m]) n++;
  return n;
}

function check(spec: LoadedSpec, label: string): { api: OpenApiApi; ms: number } {
  const started = performance.now();
  const api = new OpenApiApi(spec, { schema: 'x', url: 'https://api.github.com' }, label);
  const ms = performance.now() - started;
  assert.deepEqual(api.skipped, [], `${label}: operations left out`);
  assert.equal(api.tools.size, operations(spec.doc), `${label}: one tool per operation`);
  const names = [...api.tools.keys()];
  assert.equal(new Set(names).size, names.length);
  for (const n of names) assert.match(n, /^[A-Za-z0-9_-]{1,64}$/);
  // Every schema is valid JSON Schema 2020-12, and its $refs all resolve within the tool (checked by compiling a
  // sample: compiling resolves every $ref).
  const ajv = addFormats(new Ajv2020({ strict: false, logger: false }));
  let i = 0;
  for (const t of api.list) {
    for (const s of [t.inputSchema, t.outputSchema]) {
      if (!s) continue;
      assert.ok(ajv.validateSchema(s as object), `${label} ${String(t.name)}: ${ajv.errorsText(ajv.errors)}`);
      if (i++ % 25 === 0) ajv.compile(s as object);
    }
  }
  return { api, ms };
}

describe('OpenAPI target: large real-world specs (GitHub REST API, 3.0 and 3.1)', () => {
  it(`GitHub's spec (3.0.3) loads and becomes one valid tool per operation within ${LOAD_BUDGET_MS / 1000} s`, async () => {
    const started = performance.now();
    const spec = await loadSpec({ file: GITHUB }, { baseDir: '/', where: 'github' });
    const loadMs = performance.now() - started;
    const { api, ms } = check(spec, 'github 3.0');
    const total = loadMs + ms;
    assert.ok(api.tools.size > 1000, String(api.tools.size));
    assert.ok(total < LOAD_BUDGET_MS, `took ${Math.round(total)} ms`);
    const repos = api.tools.get('repos_get') as any;
    assert.deepEqual(repos.tool.inputSchema.required, ['owner', 'repo']);
    assert.equal(repos.tool.outputSchema.type, 'object');
    process.stdout.write(`# github 3.0: ${api.tools.size} tools, load + build ${Math.round(total)} ms (build ${Math.round(ms)} ms)\n`);
  });

  it(`the same spec as OpenAPI 3.1 loads and becomes one valid tool per operation within ${LOAD_BUDGET_MS / 1000} s`, async () => {
    const doc = to31(JSON.parse(readFileSync(GITHUB, 'utf8')));
    const started = performance.now();
    const spec = await loadSpec({ inline: doc }, { baseDir: '/', where: 'github31' });
    assert.equal(spec.version, '3.1');
    const loadMs = performance.now() - started;
    const { api, ms } = check(spec, 'github 3.1');
    const total = loadMs + ms;
    assert.ok(total < LOAD_BUDGET_MS, `took ${Math.round(total)} ms`);
    // A nullable property became a null type, reachable through the tool's $defs.
    const issue = api.tools.get('issues_get') as any;
    assert.ok(JSON.stringify(issue.tool.outputSchema).includes('"null"'));
    process.stdout.write(`# github 3.1: ${api.tools.size} tools, load + build ${Math.round(total)} ms\n`);
  });
});
