/**
 * Config of the filter policies: `filters` (user filters) and the ready-made ones (`piiRedaction`,
 * `toolArgumentRules`, `headerInjection`, `toolPinning`). All run in the `requestFilter` phase.
 */
import type { JsonValue } from './filter.ts';

/**
 * One user filter attached to a listener or route.
 * @example
 * { file: './filters/tenant.ts', config: { tenants: ['acme'] }, failureMode: 'failClosed', timeoutMs: 20 }
 */
export interface FilterAttachment {
  /** The filter file (TypeScript or JavaScript), relative to the config file. @example './filters/tenant.ts' */
  file: string;
  /** Name in logs and errors. @default the filter's own `name`, else the file name */
  name?: string;
  /** Values the filter reads as `ctx.config` (JSON). @default {} @example { tenants: ['acme'] } */
  config?: Record<string, JsonValue>;
  /**
   * What a failure (throw, invalid decision, timeout, memory limit) does: `failClosed` answers with an error
   * (500 and a `PCL_ERR_FILTER_*` code, or a JSON-RPC error for MCP); `failOpen` continues as if the filter
   * had not run.
   * @default 'failClosed'
   * @example 'failOpen'
   */
  failureMode?: 'failClosed' | 'failOpen';
  /** Wall time one hook call may take; the sandbox is replaced after a breach. @default 50 @example 20 */
  timeoutMs?: number;
  /** Heap limit of the filter's isolate, 8-1024. @default 32 @example 64 */
  memoryLimitMb?: number;
  /** Largest JSON body handed to the filter; larger bodies pass through unseen (`body` absent). @default 1048576 @example 65536 */
  maxBodyBytes?: number;
  /** Largest data a call may take in or give back (JSON text). @default 4194304 @example 1048576 */
  maxResultBytes?: number;
  /**
   * Type-check the filter with the TypeScript compiler (strict) before it is used, when the `typescript` package
   * is installed; a type error fails the build like a syntax error. esbuild itself only strips types.
   * @default true
   * @example false
   */
  typeCheck?: boolean;
}

/** A kind of personal data the PII filter knows. @example 'email' */
export type PiiKind = 'email' | 'phone' | 'paymentCard' | 'nationalId';

/**
 * Redacts personal data in MCP tool results and JSON or text response bodies.
 * @example
 * piiRedaction: { kinds: ['email', 'paymentCard'], replacement: '[redacted]' }
 */
export interface PiiRedactionPolicy {
  /** Kinds to redact. Payment cards must pass the Luhn check. @default ['email', 'phone', 'paymentCard', 'nationalId'] */
  kinds?: PiiKind[];
  /**
   * Extra patterns, matched globally. JavaScript regular-expression syntax run by a linear-time engine: no
   * backreferences, lookarounds of one character only (`(?![0-9])`), no inline modifiers; such a pattern is a
   * config error.
   * @default []
   * @example [{ name: 'employeeId', regex: 'EMP-\\d{6}' }]
   */
  custom?: Array<{ name: string; regex: string }>;
  /** Replacement text; `{kind}` is the kind's name. @default '[REDACTED:{kind}]' */
  replacement?: string;
  /** Redact HTTP response bodies (JSON and `text/*`). @default true */
  responses?: boolean;
  /** Redact MCP results (tool results, prompts, resources). @default true */
  mcpResults?: boolean;
  /**
   * Most content scanned, in bytes: a response body, or the text (all strings together) of one MCP result. Larger
   * content follows `oversized`.
   * @default 1048576
   * @example 262144
   */
  maxScanBytes?: number;
  /** Older name of `maxScanBytes`, used when that is not set. @default 1048576 @example 65536 */
  maxBodyBytes?: number;
  /**
   * What happens to content the filter cannot inspect: larger than `maxScanBytes`, compressed (the filter asks
   * the backend for `accept-encoding: identity`, so only a backend that ignores it sends such a body), nested
   * deeper than 64 levels, or needing more than 8 passes of a pattern over the text. `refuse`: the response
   * becomes 502 `PCL_ERR_FILTER_CONTENT_TOO_LARGE` (a JSON-RPC error for an MCP result). `pass`: it passes
   * unredacted, with a warning in the log. Event streams (`text/event-stream`) and non-text bodies are never
   * inspected.
   * @default 'refuse'
   * @example 'pass'
   */
  oversized?: 'refuse' | 'pass';
}

/**
 * A JSON-schema subset for tool arguments: `type`, `properties`, `required`, `additionalProperties` (boolean),
 * `items`, `enum`, `const`, `pattern`, `minLength`, `maxLength`, `minimum`, `maximum`, `maxItems`.
 * @example { type: 'object', properties: { path: { type: 'string', pattern: '^/srv/' } }, required: ['path'] }
 */
export interface ArgumentSchema {
  /** JSON type; `number` also accepts integers. @default any type @example 'string' */
  type?: 'object' | 'array' | 'string' | 'number' | 'integer' | 'boolean' | 'null';
  /** Schemas of object properties. @default {} @example { path: { type: 'string' } } */
  properties?: Record<string, ArgumentSchema>;
  /** Property names that must be present. @default [] @example ['path'] */
  required?: string[];
  /** `false` rejects properties not named in `properties`. @default true */
  additionalProperties?: boolean;
  /** Schema of every array item. @default any @example { type: 'string' } */
  items?: ArgumentSchema;
  /** Allowed values. @default any @example ['read', 'list'] */
  enum?: JsonValue[];
  /** The only allowed value. @default any @example 'read' */
  const?: JsonValue;
  /** Regular expression a string must match (unanchored), run in linear time (see {@link ToolArgumentRule.deny}). @default none @example '^/srv/' */
  pattern?: string;
  /** @default 0 @example 1 */
  minLength?: number;
  /** @default no limit @example 200 */
  maxLength?: number;
  /** @default no limit @example 0 */
  minimum?: number;
  /** @default no limit @example 100 */
  maximum?: number;
  /** @default no limit @example 10 */
  maxItems?: number;
}

/**
 * Rules on the arguments of MCP `tools/call`, beyond the tool's own schema.
 * @example
 * { tool: 'fs_*', deny: ['\\.\\./', '^/etc/'], schema: { type: 'object', properties: { path: { type: 'string', maxLength: 200 } } } }
 */
export interface ToolArgumentRule {
  /** Tool name as the client sees it; `*` matches any characters. @example 'everything_echo' */
  tool: string;
  /**
   * Regular expressions; a call is denied when any string anywhere in its arguments (keys included) matches one.
   * JavaScript syntax, run by a linear-time engine so that no argument can stall the gateway: backreferences,
   * lookarounds longer than one character and inline modifiers are config errors.
   * @default []
   * @example ['\\.\\./', '^/etc/']
   */
  deny?: string[];
  /** Argument names that must not be sent. @default [] @example ['sudo'] */
  forbidArguments?: string[];
  /** A schema the arguments must satisfy. @default undefined */
  schema?: ArgumentSchema;
}

/** Tool-argument rules: every rule whose `tool` matches applies. @example { rules: [{ tool: '*', deny: ['[Dd][Rr][Oo][Pp] [Tt][Aa][Bb][Ll][Ee]'] }] } */
export interface ToolArgumentRulesPolicy {
  /** The rules. @example [{ tool: 'everything_echo', schema: { type: 'object', properties: { message: { type: 'string', maxLength: 100 } } } }] */
  rules: ToolArgumentRule[];
  /**
   * Most text checked per call, in bytes: all strings of the arguments (keys included) together. A call with more
   * is denied with `PCL_ERR_FILTER_CONTENT_TOO_LARGE` (fail closed), before any pattern runs.
   * @default 1048576
   * @example 65536
   */
  maxScanBytes?: number;
}

/**
 * Headers set on the request sent upstream or on the response, from literal values or the caller's identity.
 * Templates: `{identity.subject}`, `{identity.kind}`, `{identity.roles}` (comma-separated),
 * `{identity.claims.<name>}`, `{route}`, `{requestId}`. A header whose template has no value (no identity) is
 * removed, so a client cannot forge it.
 * @example
 * headerInjection: { request: { 'x-user': '{identity.subject}', 'x-gateway': 'portcullis' } }
 */
export interface HeaderInjectionPolicy {
  /** Headers set on the upstream request. @default {} @example { 'x-user': '{identity.subject}' } */
  request?: Record<string, string>;
  /** Headers set on the response to the client. @default {} @example { 'x-served-by': 'portcullis' } */
  response?: Record<string, string>;
}

/**
 * Tool-definition pinning against "rug pulls": the SHA-256 of each tool's name, description and input schema is
 * recorded when first listed (or given in `pins`); a tool whose definition later differs is hidden from
 * `tools/list` and its calls denied (`block`), or only logged (`flag`).
 * @example
 * toolPinning: { mode: 'block', pins: { everything_echo: '3f1c…' } }
 */
export interface ToolPinningPolicy {
  /** `block` hides and denies changed tools; `flag` logs a warning and lets them through. @default 'block' */
  mode?: 'block' | 'flag';
  /** Known-good hashes by tool name (hex SHA-256 from the log line `tool pinned`). @default {} */
  pins?: Record<string, string>;
  /** A JSON file that keeps first-seen pins across restarts (relative to the config file). @default kept in memory only @example './tool-pins.json' */
  storeFile?: string;
}
