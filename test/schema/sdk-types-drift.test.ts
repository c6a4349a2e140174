import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gatewaySchema } from '../../core/config/gateway-schema.ts';
import { toJsonSchema } from '../../core/schema/json-schema.ts';
import { object, string, type JsonSchema } from '../../core/schema/schema.ts';
import type { PolicyDefinition } from '../../core/pipeline/types.ts';
import { builtinPolicies } from '../../policies/index.ts';
import { builtinBackends } from '../../core/gateway/backends.ts';
import { annotateFromSdkTypes } from '../../schema/sdk-types-docs.ts';

/**
 * sdk-types (hand-written, for their JSDoc) and the runtime schema cannot drift: at every object of the config, the
 * keys of the interface and of the runtime object schema must be the same, and required in both or in neither.
 * The TypeScript compiler reads the interfaces; the walk follows the generated JSON Schema.
 */

const generated = () => toJsonSchema(gatewaySchema(builtinPolicies, builtinBackends));
type Props = Record<string, JsonSchema>;
const defs = (schema: JsonSchema) => schema.$defs as Record<string, JsonSchema>;
const policiesOf = (schema: JsonSchema) => defs(schema).policies.properties as Props;

describe('sdk-types and the runtime schema', () => {
  const walk = annotateFromSdkTypes(generated());

  it('have the same keys, required alike, at every object of the config', () => {
    assert.deepEqual(walk.mismatches, []);
  });

  it('are compared at the root, every policy kind and every backend kind', () => {
    const policies = '$binds[].listeners[].policies';
    const at = new Set(walk.compared.map((p) => `$${p}`));
    assert.ok(at.has('$'), 'the root');
    // A list-valued policy (filters) is compared at its items.
    const missed = builtinPolicies.map((d) => `${policies}.${d.name}`).filter((p) => !at.has(p) && !at.has(`${p}[]`));
    assert.deepEqual(missed, [], 'every policy block is compared with its interface');
    const route = '$binds[].listeners[].routes[]';
    assert.ok(at.has(`${route}.backends[]`), 'the backend entry');
    for (const def of builtinBackends.filter((b) => b.schema)) {
      const kind = `${route}.backends[].${def.kind}`;
      // A backend whose value is a plain string (host) has no keys to compare; the others are objects.
      if (def.kind !== 'host') assert.ok(at.has(kind), `the ${def.kind} backend is compared`);
    }
    assert.ok(walk.compared.length >= 100, `${walk.compared.length} shapes compared`);
  });

  it('names a policy the runtime registers that the Policies interface lacks', () => {
    const toy: PolicyDefinition = { name: 'toyPolicy', phase: 'request' as PolicyDefinition['phase'], schema: object({ a: string() }), create: () => ({}) as never };
    const { mismatches } = annotateFromSdkTypes(toJsonSchema(gatewaySchema([...builtinPolicies, toy], builtinBackends)));
    assert.deepEqual(mismatches, ['binds[].listeners[].policies (Policies): the runtime schema accepts "toyPolicy", the type has no such property']);
  });

  it('names a property the type has and the runtime refuses, and a required key the type leaves optional', () => {
    const schema = generated();
    const cors = policiesOf(schema).cors;
    delete (cors.properties as Props).maxAge;
    cors.required = ['allowOrigins'];
    const mcp = ((((schema.properties as Props).binds.items as JsonSchema).properties as Props).listeners.items as JsonSchema).properties as Props;
    const backend = ((mcp.routes.items as JsonSchema).properties as Props).backends.items as JsonSchema;
    (backend.properties as Props).priority = { type: 'integer' };
    assert.deepEqual(annotateFromSdkTypes(schema).mismatches, [
      'binds[].listeners[].policies.cors (CorsPolicy): "allowOrigins" is optional in the type, required in the runtime schema',
      'binds[].listeners[].policies.cors (CorsPolicy): the type has "maxAge", the runtime schema refuses it',
      'binds[].listeners[].routes[].backends[] (HostBackend | McpBackend | A2aBackend): the runtime schema accepts "priority", the type has no such property',
    ]);
  });

  it('names a value a closed list of the runtime and the literal union of the type do not share', () => {
    const schema = generated();
    const logging = (schema.properties as Props).logging.properties as Props;
    logging.level.enum = ['trace', 'debug', 'info', 'warn', 'error', 'silent', 'loud'];
    const mismatches = annotateFromSdkTypes(schema).mismatches.map((m) => m.replace(/ \(.*?\):/, ':'));
    assert.deepEqual(mismatches, [
      'logging.level: the runtime schema accepts "loud", the type does not',
      'logging.level: the type allows "fatal", the runtime schema refuses it',
    ]);
  });

  it('names a JSON type the runtime accepts where the type has another', () => {
    const schema = generated();
    const bind = ((schema.properties as Props).binds.items as JsonSchema).properties as Props;
    bind.port = { type: 'string' };
    assert.deepEqual(annotateFromSdkTypes(schema).mismatches, ['binds[].port (number): the runtime schema accepts a string here, the type does not']);
  });

  it('gives each key the JSDoc of its property as description', () => {
    const schema = generated();
    annotateFromSdkTypes(schema);
    const cors = policiesOf(schema).cors;
    assert.match(String((cors.properties as Props).allowOrigins.description), /origin/i);
    assert.match(String((schema.properties as Props).workers.description), /\S/);
  });
});
