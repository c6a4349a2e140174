import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { parse, stringify } from 'yaml';
import { fromAgentgateway } from '../../core/config/agentgateway.ts';
import { gatewaySchema } from '../../core/config/gateway-schema.ts';
import type { Issue } from '../../core/schema/schema.ts';
import { builtinPolicies } from '../../policies/index.ts';
import { builtinBackends } from '../../core/gateway/backends.ts';
import { buildConfigJsonSchema, CONFIG_SCHEMA_FILE } from '../../schema/generate.ts';

/**
 * The JSON Schema editors read (schema/portcullis.config.schema.json) against the runtime schema it is made from:
 * the committed file is what `npm run schema` writes today, every example config passes both, and on configs the
 * runtime refuses for their shape the JSON Schema refuses too (and it never refuses what the runtime accepts).
 */

const ROOT = new URL('../../', import.meta.url).pathname;
const committed = readFileSync(CONFIG_SCHEMA_FILE, 'utf8');
const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
(addFormats as unknown as (a: Ajv2020) => void)(ajv);
// The editors' message for a pattern (yaml-language-server, VS Code): an annotation to ajv.
ajv.addKeyword('patternErrorMessage');
const validateJson = ajv.compile(JSON.parse(committed));
const runtime = gatewaySchema(builtinPolicies, builtinBackends);

function runtimeIssues(raw: unknown): Issue[] {
  const issues: Issue[] = [];
  runtime.check(raw, '', issues);
  return issues;
}
function jsonErrors(raw: unknown): string[] {
  return validateJson(raw) ? [] : (validateJson.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}

/** Each example's gateway.config.ts, evaluated (its default export, called when it is a function). */
async function exampleConfigs(): Promise<Array<[string, unknown]>> {
  const files = [
    'gateway.config.ts',
    ...readdirSync(join(ROOT, 'examples'))
      .map((d) => join('examples', d, 'gateway.config.ts'))
      .filter((f) => { try { return readFileSync(join(ROOT, f)).length > 0; } catch { return false; } }),
  ];
  const out: Array<[string, unknown]> = [];
  for (const file of files) {
    const mod = (await import(pathToFileURL(join(ROOT, file)).href)) as { default: unknown };
    const value = typeof mod.default === 'function' ? await (mod.default as () => unknown)() : mod.default;
    // Plain data, as the loader hands it to the validator (and as YAML or JSON would spell it).
    out.push([file, JSON.parse(JSON.stringify(value))]);
  }
  return out;
}

/** The YAML examples in agentgateway's format, translated to the Portcullis config the gateway validates. */
function yamlConfigs(): Array<[string, unknown]> {
  const files = [
    'examples/basic/config.yaml',
    'examples/openapi/config.yaml',
    'examples/mcp-authentication/agentgateway/config.yaml',
    ...readdirSync(join(ROOT, 'test/fixtures/agentgateway')).filter((f) => f.endsWith('.yaml') && f !== 'unsupported.yaml').map((f) => `test/fixtures/agentgateway/${f}`),
  ];
  return files.map((file) => {
    const translation: Issue[] = [];
    const raw = fromAgentgateway(parse(readFileSync(join(ROOT, file), 'utf8')), translation);
    assert.deepEqual(translation, [], `${file} translates without refused features`);
    return [file, raw];
  });
}

describe('the generated JSON Schema of the config', () => {
  it('is up to date: npm run schema writes exactly the committed file', () => {
    const { text } = buildConfigJsonSchema();
    assert.ok(text === committed, 'schema/portcullis.config.schema.json is stale: run `npm run schema` and commit it');
  });

  it('covers every registered policy and backend kind, and refuses unknown keys', () => {
    const schema = JSON.parse(committed);
    const policies = Object.keys(schema.$defs.policies.properties).sort();
    assert.deepEqual(policies, builtinPolicies.map((d) => d.name).sort());
    const backend = schema.properties.binds.items.properties.listeners.items.properties.routes.items.properties.backends.items;
    assert.deepEqual(Object.keys(backend.properties).sort(), ['a2a', 'host', 'mcp', 'weight']);
    assert.equal(backend.additionalProperties, false);
    // Every object with declared keys refuses others (records say what their values are instead).
    const open: string[] = [];
    (function walk(node: unknown, at: string): void {
      if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${at}[${i}]`));
      if (node === null || typeof node !== 'object') return;
      const o = node as Record<string, unknown>;
      if (o.properties && o.additionalProperties !== false) open.push(at);
      for (const [k, v] of Object.entries(o)) {
        // Maps of schemas by name: their values are schemas, the map itself is not.
        if ((k === 'properties' || k === '$defs') && v && typeof v === 'object') {
          for (const [name, sub] of Object.entries(v)) walk(sub, `${at}/${k}/${name}`);
        } else walk(v, `${at}/${k}`);
      }
    })(schema, '#');
    assert.deepEqual(open, []);
    assert.match(schema.properties.binds.description, /\S/, 'descriptions come from the JSDoc of sdk-types');
    assert.match(schema.$defs.policies.properties.cors.description, /\S/);
  });

  it('accepts every example gateway.config.ts, and the runtime schema does too', async () => {
    const configs = await exampleConfigs();
    assert.ok(configs.length >= 10, `found ${configs.length} example configs`);
    for (const [file, raw] of configs) {
      assert.deepEqual(runtimeIssues(raw), [], `${file}: the runtime schema accepts it`);
      assert.deepEqual(jsonErrors(raw), [], `${file}: the JSON Schema accepts it`);
    }
  });

  it('describes YAML in Portcullis\' own shape too: every example written as YAML loads, and both schemas accept it', async () => {
    for (const [file, raw] of await exampleConfigs()) {
      const issues: Issue[] = [];
      const read = fromAgentgateway(parse(stringify(raw)), issues);
      assert.deepEqual(issues, [], `${file} as YAML`);
      assert.deepEqual(runtimeIssues(read), [], `${file} as YAML: the runtime schema accepts it`);
      assert.deepEqual(jsonErrors(read), [], `${file} as YAML: the JSON Schema accepts it`);
    }
  });

  it('accepts every agentgateway YAML example once translated', () => {
    const configs = yamlConfigs();
    assert.ok(configs.length >= 8, `found ${configs.length} YAML configs`);
    for (const [file, raw] of configs) {
      assert.deepEqual(runtimeIssues(raw), [], `${file}: the runtime schema accepts it`);
      assert.deepEqual(jsonErrors(raw), [], `${file}: the JSON Schema accepts it`);
    }
  });
});
