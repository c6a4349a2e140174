import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { ErrorCodes, GatewayError } from '../../core/errors.ts';
import { toJsonSchema } from '../../core/schema/json-schema.ts';
import { array, lazy, literal, number, object, oneOf, record, string, type Issue, type Schema } from '../../core/schema/schema.ts';

/** The schema kit's JSON Schema hooks, combinator by combinator, and the generator's refusal of a schema without one. */

const ajv = new Ajv2020({ strict: true, strictRequired: false, allowUnionTypes: true });
const agree = (schema: Schema, value: unknown) => {
  const issues: Issue[] = [];
  schema.check(value, '', issues);
  return [issues.length === 0, ajv.validate(toJsonSchema(schema), value)];
};

describe('toJsonSchema', () => {
  it('refuses a schema without a jsonSchema hook, naming its path, with a stable code', () => {
    const opaque: Schema = { describe: 'a secret thing', check() {} };
    assert.throws(
      () => toJsonSchema(object({ a: object({ b: array(opaque) }), c: record(opaque) })),
      (err: unknown) => {
        assert.ok(err instanceof GatewayError);
        assert.equal(err.code, ErrorCodes.INTERNAL);
        assert.match(err.message, /\n {2}a\.b\.\[\] \(a secret thing\)\n {2}c\.\* \(a secret thing\)$/);
        return true;
      },
    );
  });

  it('writes objects closed, with required keys and exactly-one groups', () => {
    const s = object({ x: string({ nonEmpty: true }), y: number({ integer: true, min: 1, max: 3 }), z: literal('a', 'b') }, { required: ['z'], exactlyOne: ['x', 'y'] });
    assert.deepEqual(toJsonSchema(s), {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      properties: { x: { type: 'string', minLength: 1 }, y: { type: 'integer', minimum: 1, maximum: 3 }, z: { enum: ['a', 'b'] } },
      additionalProperties: false,
      required: ['z'],
      oneOf: [{ required: ['x'] }, { required: ['y'] }],
    });
    for (const value of [{ z: 'a', x: 'q' }, { z: 'a', y: 2 }, { z: 'a' }, { z: 'a', x: 'q', y: 2 }, { z: 'c', x: 'q' }, { z: 'a', x: '' }, { z: 'a', y: 4 }, { z: 'a', x: 'q', w: 1 }]) {
      const [runtime, json] = agree(s, value);
      assert.equal(json, runtime, JSON.stringify(value));
    }
  });

  it('names a recursive (lazy) schema once under $defs and a shape used twice once', () => {
    // As tool-argument-rules does: a reference with a fixed name, since the describe of the real one would recurse.
    const nested: Schema = { describe: 'node', check: (v, p, i) => node.check(v, p, i), jsonSchema: (ctx) => ctx.of(node, '') };
    const node: Schema = lazy(() => object({ children: array(nested), name: string() }));
    const shared = object({ a: string() });
    const json = toJsonSchema(object({ tree: node, left: shared, right: shared }));
    assert.deepEqual(json.properties, { tree: { $ref: '#/$defs/tree' }, left: { $ref: '#/$defs/left' }, right: { $ref: '#/$defs/left' } });
    assert.deepEqual(Object.keys(json.$defs as object), ['tree', 'left']);
    const deep = { tree: { name: 'r', children: [{ name: 'c', children: [{ name: 1 }] }] } };
    assert.deepEqual(agree(object({ tree: node }), deep), [false, false]);
    assert.deepEqual(agree(object({ tree: node }), { tree: { name: 'r', children: [{ children: [] }] } }), [true, true]);
  });

  it('writes a guarded choice as anyOf with its description', () => {
    const s = oneOf("a number or 'auto'", [
      { when: (v) => v === 'auto', schema: literal('auto') },
      { when: () => true, schema: number({ integer: true, min: 1 }) },
    ]);
    assert.deepEqual(toJsonSchema(s).anyOf, [{ const: 'auto' }, { type: 'integer', minimum: 1 }]);
    for (const v of ['auto', 2, 0, 'x', 1.5]) assert.equal(agree(s, v)[1], agree(s, v)[0], String(v));
  });
});
