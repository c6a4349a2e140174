import type { JsonSchema, JsonSchemaContext, Schema } from './schema.ts';

/**
 * Turns a runtime schema into a JSON Schema (draft 2020-12) through each schema's `jsonSchema` hook, so that the
 * JSON Schema editors read and the validator the gateway runs come from one definition. Recursive (lazy) schemas
 * become `$defs` entries. A schema without a hook is an error naming every path that has one, never a silent
 * "anything goes".
 */
export function toJsonSchema(root: Schema, meta: { id?: string; title?: string; description?: string } = {}): JsonSchema {
  const defs: Record<string, JsonSchema> = {};
  const names = new Map<object, string>();
  const missing: string[] = [];
  const path: string[] = [];

  const ctx: JsonSchemaContext = {
    of(schema, at) {
      path.push(at);
      try {
        if (!schema.jsonSchema) {
          missing.push(`${path.filter(Boolean).join('.') || '(root)'} (${schema.describe})`);
          return {};
        }
        return schema.jsonSchema(ctx);
      } finally {
        path.pop();
      }
    },
    ref(key, build) {
      let name = names.get(key);
      if (name === undefined) {
        name = `def${names.size + 1}`;
        names.set(key, name);
        defs[name] = build();
      }
      return { $ref: `#/$defs/${name}` };
    },
  };

  const body = ctx.of(root, '');
  if (missing.length > 0) {
    throw new Error(`these schemas have no jsonSchema hook (core/config/schema.ts):\n  ${missing.join('\n  ')}`);
  }
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    ...(meta.id ? { $id: meta.id } : {}),
    ...(meta.title ? { title: meta.title } : {}),
    ...(meta.description ? { description: meta.description } : {}),
    ...body,
    ...(Object.keys(defs).length > 0 ? { $defs: defs } : {}),
  };
}
