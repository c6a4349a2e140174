import { array, boolean, literal, number, object, string, type Schema } from '../../schema/index.ts';
import { refineToolNames, targetToolsSchema, toolSearchSchema, toolsetsSchema } from './tools/schema.ts';
import type { McpTargetKind } from './upstream/target-kind.ts';

/** One target entry: its name, exactly one kind's key with that kind's options, and the settings every target has. */
function mcpTargetSchema(kinds: readonly McpTargetKind[]): Schema {
  return object(
    {
      name: string({ pattern: /^[A-Za-z0-9_-]+$/, patternHint: 'letters, digits, "_" or "-"' }),
      ...Object.fromEntries(kinds.map((k) => [k.key, k.schema])),
      requestTimeoutMs: number({ integer: true, min: 1 }),
      tools: targetToolsSchema,
    },
    { required: ['name'], exactlyOne: kinds.map((k) => k.key) },
  );
}

/** The schema of an `mcp` backend entry whose targets are of `kinds`. */
export function mcpBackendSchemaOf(kinds: readonly McpTargetKind[]): Schema {
  return object(
    {
      targets: array(mcpTargetSchema(kinds), { minItems: 1 }),
      prefixMode: literal('conditional', 'always', 'never'),
      failureMode: literal('failClosed', 'failOpen'),
      statefulMode: literal('stateful', 'stateless'),
      sessionIdleTimeoutMs: number({ integer: true, min: 1 }),
      requestTimeoutMs: number({ integer: true, min: 1 }),
      maxBatchSize: number({ integer: true, min: 1, max: 100_000 }),
      maxUpstreamMessageBytes: number({ integer: true, min: 1024, max: 1024 * 1024 * 1024 }),
      maxSessions: number({ integer: true, min: 1, max: 1_000_000 }),
      maxSessionsPerIdentity: number({ integer: true, min: 1, max: 1_000_000 }),
      maxRequestsPerSession: number({ integer: true, min: 1, max: 1_000_000 }),
      maxRequestsPerIdentity: number({ integer: true, min: 1, max: 1_000_000 }),
      dnsRebindingProtection: object({
        enabled: boolean(),
        allowedOrigins: array(string({ nonEmpty: true })),
        allowedHosts: array(string({ nonEmpty: true })),
      }),
      toolsets: toolsetsSchema,
      toolSearch: toolSearchSchema,
    },
    {
      required: ['targets'],
      refine(v, p, issues) {
        const seen = new Set<string>();
        (v.targets as Array<{ name: string }>).forEach((t, i) => {
          if (seen.has(t.name)) issues.push({ path: `${p}.targets[${i}].name`, message: `duplicate target name "${t.name}"` });
          seen.add(t.name);
        });
        refineToolNames(v, p, issues);
      },
    },
  );
}
