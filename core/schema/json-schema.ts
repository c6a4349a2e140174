import { ErrorCodes, GatewayError } from '../errors.ts';
import type { JsonSchema, JsonSchemaContext, Schema } from './schema.ts';

/**
 * Turns a runtime schema into a JSON Schema (draft 2020-12) through each schema's `jsonSchema` hook, so that the
 * JSON Schema editors read and the validator the gateway runs come from one definition. Recursive (lazy) schemas
 * and objects used in several places (the `policies` block of listeners and routes) become `$defs` entries named
 * after the key they first sit under. A schema without a hook is an error naming every path that has one, never a
 * silent "anything goes".
 */
export function toJsonSchema(root: Schema, meta: { id?: string; title?: string; description?: string } = {}): JsonSchema {
  // A first pass counts where each schema is used; the second writes the shared ones once, under $defs.
  const uses = new Map<Schema, number>();
  // Inside a schema seen before nothing is counted again: what the policies block holds is used once, by it.
  generate(root, (schema) => {
    uses.set(schema, (uses.get(schema) ?? 0) + 1);
    return uses.get(schema) === 1;
  });
  const { body, defs } = generate(root, () => true, (schema) => (uses.get(schema) ?? 0) > 1);
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    ...(meta.id ? { $id: meta.id } : {}),
    ...(meta.title ? { title: meta.title } : {}),
    ...(meta.description ? { description: meta.description } : {}),
    ...body,
    ...(Object.keys(defs).length > 0 ? { $defs: defs } : {}),
  };
}

function generate(root: Schema, visit: (schema: Schema) => boolean, shared: (schema: Schema) => boolean = () => false) {
  const defs: Record<string, JsonSchema> = {};
  const names = new Map<object, string>();
  const missing: string[] = [];
  const path: string[] = [];

  const define = (key: object, at: string, build: () => JsonSchema): JsonSchema => {
    let name = names.get(key);
    if (name === undefined) {
      const base = /^[A-Za-z][A-Za-z0-9]*$/.test(at) ? at : 'def';
      name = base;
      for (let n = 2; Object.hasOwn(defs, name); n++) name = `${base}${n}`;
      names.set(key, name);
      defs[name] = {}; // reserved before building, so a recursive use finds the name
      defs[name] = build();
    }
    return { $ref: `#/$defs/${name}` };
  };

  const ctx: JsonSchemaContext = {
    of(schema, at) {
      path.push(at);
      try {
        if (!schema.jsonSchema) {
          missing.push(`${path.filter(Boolean).join('.') || '(root)'} (${schema.describe})`);
          return {};
        }
        if (!visit(schema)) return {};
        const hook = schema.jsonSchema.bind(schema);
        if (!names.has(schema) && shared(schema)) {
          const built = hook(ctx);
          // Only objects with keys are worth a name; a shared string or number stays inline.
          if (built.type !== 'object' || built.properties === undefined) return built;
          return define(schema, at, () => built);
        }
        if (names.has(schema)) return { $ref: `#/$defs/${names.get(schema)}` };
        return hook(ctx);
      } finally {
        path.pop();
      }
    },
    ref(key, build) {
      return define(key, lastName(path), build);
    },
  };

  const body = ctx.of(root, '');
  if (missing.length > 0) {
    throw new GatewayError(
      ErrorCodes.INTERNAL,
      `cannot write the JSON Schema: these schemas have no jsonSchema hook (give each hand-written schema one, see core/config/schema.ts):\n  ${missing.join('\n  ')}`,
    );
  }
  return { body, defs };
}

function lastName(path: readonly string[]): string {
  for (let i = path.length - 1; i >= 0; i--) if (/^[A-Za-z][A-Za-z0-9]*$/.test(path[i])) return path[i];
  return 'def';
}
