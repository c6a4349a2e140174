import { array, isPlainObject, number, object, oneOf, record, string, type Schema } from '../../../../schema/index.ts';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

const operationFilter = object({
  tags: array(string({ nonEmpty: true })),
  paths: array(string({ pattern: /^\//, patternHint: 'a path glob starting with "/"' })),
  methods: array(string({ pattern: new RegExp(`^(${METHODS.join('|')})$`, 'i'), patternHint: METHODS.map((m) => m.toUpperCase()).join(', ') })),
  operationIds: array(string({ nonEmpty: true })),
});

const schemaSource = oneOf('string (inline document) or object with file, url or inline', [
  { when: (v) => typeof v === 'string', schema: string({ nonEmpty: true }) },
  {
    when: isPlainObject,
    schema: object(
      {
        file: string({ nonEmpty: true }),
        url: string({ pattern: /^https?:\/\//, patternHint: 'an http(s) URL' }),
        inline: oneOf('string or object', [
          { when: (v) => typeof v === 'string', schema: string({ nonEmpty: true }) },
          { when: isPlainObject, schema: { describe: 'object', check() {}, jsonSchema: () => ({ type: 'object' }) } },
        ]),
        timeoutMs: number({ integer: true, min: 1, max: 300_000 }),
      },
      { exactlyOne: ['file', 'url', 'inline'] },
    ),
  },
]);

/** The schema of an MCP target's `openapi` entry (see `McpOpenApiTarget`). */
export const openApiTargetSchema: Schema = object(
  {
    schema: schemaSource,
    url: string({ pattern: /^https?:\/\//, patternHint: 'an http(s) URL' }),
    host: string({ nonEmpty: true }),
    port: number({ integer: true, min: 1, max: 65535 }),
    path: string({ pattern: /^\//, patternHint: 'a path starting with "/"' }),
    serverVariables: record(string()),
    headers: record(string()),
    include: array(operationFilter),
    exclude: array(operationFilter),
    overrides: record(
      object({
        name: string({ pattern: /^[A-Za-z0-9_-]{1,64}$/, patternHint: 'letters, digits, "_" or "-", at most 64' }),
        description: string(),
      }),
    ),
    maxResponseBytes: number({ integer: true, min: 1, max: 256 * 1024 * 1024 }),
  },
  {
    required: ['schema'],
    refine(v, p, issues) {
      if (v.url !== undefined && (v.host !== undefined || v.port !== undefined || v.path !== undefined)) {
        issues.push({ path: p, message: 'set url, or host (with port and path), not both' });
      }
      if (v.host === undefined && (v.port !== undefined || v.path !== undefined)) issues.push({ path: `${p}.host`, message: 'is required when port or path is set' });
    },
  },
);
