import type { McpTarget } from '../../../../sdk-types/config.ts';
import { ErrorCodes, GatewayError } from '../../../errors.ts';
import type { Schema } from '../../../schema/index.ts';
import type { StateStore } from '../../../state/index.ts';
import type { Logger } from '../../../telemetry/index.ts';
import type { UpstreamDispatcher, UpstreamTransport } from './transport.ts';

/**
 * One kind of MCP target: the key it takes in a target entry (`{ name: 'x', <key>: options }`), the schema of its
 * options, how a connection gets its transport, and the facts sessions and pools need about it. The built-in kinds
 * are listed in `builtinMcpTargetKinds` (builtin-targets.ts); a gateway adds its own with
 * `createGateway(config, { mcpTargetKinds: [definition] })`. Sessions and dispatch only ever see the transport.
 *
 * @example
 * export const echoTarget: McpTargetKind<{ greeting: string }> = {
 *   key: 'echo',
 *   schema: s.object({ greeting: s.string() }, { required: ['greeting'] }),
 *   create: (options) => new EchoTransport(options.greeting),
 * };
 */
export interface McpTargetKind<O = any> {
  /** Its key in a target entry, beside `name`, `requestTimeoutMs` and `tools`. */
  readonly key: string;
  /** The schema of its options: errors name their path (`…targets[1].<key>.field`). */
  readonly schema: Schema;
  /** A new transport for one connection to the target (`start` is called next, then `initialize` is sent). */
  create(options: O, ctx: McpTargetContext): UpstreamTransport;
  /**
   * Calls HTTP upstreams: its transport gets the route's composed dispatcher (`ctx.upstream`: backend TLS,
   * backendAuth, timeouts, retries) bound to the client session's headers.
   */
  readonly remote?: boolean;
  /**
   * Each connection runs a process of its own: connections are counted against `maxProcesses`, kept ready in a
   * warm pool (`warmPool`, `warmPoolMax`), or all share one process (`shared`). The settings read from its options.
   */
  processes?(options: O): McpProcessSettings;
  /**
   * Another replica can resume a connection from what the session id carries (the transport's
   * `upstreamSessionId` and `resume`); otherwise the session stays with its owner and is forwarded there.
   */
  readonly resumable?: boolean;
  /** May speak the 2026-07-28 era: probed with `server/discover` when the session serves modern clients. */
  readonly eraProbe?: boolean;
  /** An upstream that forgot the session answers 404: a new upstream session is initialized and the call sent again, once. */
  readonly reinitializeOn404?: boolean;
  /**
   * Loads what the kind's targets need before the backend serves (a spec), failing the load with a path when it
   * cannot; called once per runtime with all of the backend's targets (pick yours by `key`). What it loaded for a
   * target reaches `create` as `ctx.loaded`.
   */
  load?(targets: readonly McpTarget[], ctx: McpTargetLoadContext): Promise<McpTargetsLoaded | undefined>;
  /** Called once per target when its route's backend is built: what is worth a log line about it. */
  announce?(options: O, where: { route: string; target: string; logger: Logger }): void;
}

/** How many processes a target with `processes` may run, and how they are pooled. */
export interface McpProcessSettings {
  maxProcesses?: number;
  warmPool?: number;
  warmPoolMax?: number;
  shared?: boolean;
}

/** What `create` gets besides the target's options. */
export interface McpTargetContext {
  /** The target's name. */
  readonly target: string;
  /** Directory of the config file: relative paths in options resolve against it. */
  readonly baseDir: string;
  readonly onStderr?: (line: string) => void;
  /** What a transport reports without failing a call by it: a target that sent something that is not MCP. */
  readonly onTransportError?: (error: Error) => void;
  /** `remote` kinds: the route's composed upstream for this client session; without one, a plain shared pool. */
  readonly upstream?: UpstreamDispatcher;
  /** Most bytes of one SSE event or JSON body (the backend's `maxUpstreamMessageBytes`). */
  readonly maxMessageBytes?: number;
  /** What the kind's `load` produced for this target. */
  readonly loaded?: unknown;
}

export interface McpTargetLoadContext {
  readonly baseDir: string;
  /** The path of the backend entry (`binds[0]…backends[0].mcp`), for errors. */
  readonly where: string;
  readonly state: StateStore;
  readonly scope: string;
  readonly logger: Logger;
  readonly route: string;
}

export interface McpTargetsLoaded {
  /** What each target needs, by target name (handed to `create` as `ctx.loaded`). */
  readonly loaded: ReadonlyMap<string, unknown>;
  /** Files it was loaded from: hot reload watches them. */
  readonly files: readonly string[];
  /** Tools known before any session (checked against the targets' tool settings at load), by target name. */
  knownTools?(): ReadonlyMap<string, ReadonlyArray<Record<string, unknown>>>;
  release(): void;
}

/** Keys of a target entry that are not a kind's. */
const TARGET_KEYS = new Set(['name', 'requestTimeoutMs', 'tools']);

/**
 * The MCP target kinds of one gateway, checked and frozen: the built-in ones, then the plugged-in ones. A kind whose
 * key is taken (by another kind or a target setting) is refused.
 */
export function mcpTargetKinds(definitions: readonly McpTargetKind[]): readonly McpTargetKind[] {
  const taken = new Set(TARGET_KEYS);
  for (const definition of definitions) {
    if (taken.has(definition.key)) {
      throw new GatewayError(ErrorCodes.EXTENSION_CONFLICT, `MCP target kind "${definition.key}" is already registered: pick another key for the plugged-in kind`);
    }
    taken.add(definition.key);
  }
  return Object.freeze([...definitions]);
}

/** The kind of a validated target: the one whose key it sets. */
export function targetKindOf(kinds: readonly McpTargetKind[], target: McpTarget): McpTargetKind {
  const entry = target as unknown as Record<string, unknown>;
  const kind = kinds.find((k) => entry[k.key] !== undefined);
  if (!kind) throw new Error(`target "${target.name}" has no known kind (expected one of ${kinds.map((k) => k.key).join(', ')})`);
  return kind;
}

/** The options a target gives its kind. */
export function targetOptions(kind: McpTargetKind, target: McpTarget): unknown {
  return (target as unknown as Record<string, unknown>)[kind.key];
}
