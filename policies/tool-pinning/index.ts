import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import type { ToolPinningPolicy } from '../../sdk-types/filter-policies.ts';
import { s } from '../../core/config/index.ts';
import { ErrorCodes, GatewayError } from '../../core/errors.ts';
import type { PolicyDefinition } from '../../core/pipeline/index.ts';
import { stateKey } from '../../core/state/index.ts';

/** JSON with sorted keys, so the same definition always hashes the same whatever order a server sends. */
function canonical(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  const keys = Object.keys(v).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
}

/** The pinned fingerprint of a tool: what a client (and its model) reads to decide to call it. */
export function toolHash(tool: Record<string, unknown>): string {
  return createHash('sha256')
    .update(canonical({ name: tool.name, description: tool.description ?? null, inputSchema: tool.inputSchema ?? null }))
    .digest('hex');
}

const PIN_STATE = stateKey<PinState>('toolPinning.pins');

interface PinState {
  /** Tool name → pinned hash, first seen or configured. */
  pins: Map<string, string>;
  /** Tools whose current definition differs from their pin. */
  changed: Set<string>;
}

function readStore(file: string, where: string): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new GatewayError(ErrorCodes.CONFIG_INVALID, `${where}.storeFile: cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  try {
    return JSON.parse(text) as Record<string, string>;
  } catch (err) {
    throw new GatewayError(ErrorCodes.CONFIG_INVALID, `${where}.storeFile: ${file} is not JSON: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Tool-definition pinning against the MCP "rug pull": a tool's name, description and input schema are hashed
 * when it is first listed (or pinned in config); a later listing with a different definition hides the tool
 * and denies its calls (`block`) or only logs it (`flag`). Pins outlive reloads, and restarts with `storeFile`.
 */
export const toolPinning: PolicyDefinition<ToolPinningPolicy> = {
  name: 'toolPinning',
  phase: 'requestFilter',
  requires: ['mcp'],
  schema: s.object({
    mode: s.literal('block', 'flag'),
    pins: s.record(s.string({ pattern: /^[0-9a-f]{64}$/, patternHint: 'a hex SHA-256' })),
    storeFile: s.string({ nonEmpty: true }),
  }),
  create(config, build) {
    const block = (config.mode ?? 'block') === 'block';
    const store = config.storeFile ? resolvePath(build.baseDir, config.storeFile) : undefined;
    // Pins kept in a store file are shared by every policy naming that file; others belong to their route/listener.
    const state = build.state.getOrCreate(PIN_STATE, store ?? build.scope, () => ({
      pins: new Map(Object.entries(store ? readStore(store, build.path) : {})),
      changed: new Set<string>(),
    }));
    // Configured pins win over first-seen ones: they are the operator's statement of what is trusted.
    for (const [name, hash] of Object.entries(config.pins ?? {})) state.pins.set(name, hash);
    const pins = state;
    let saving = Promise.resolve();
    const save = () => {
      if (!store) return;
      const snapshot = JSON.stringify(Object.fromEntries(pins.pins), null, 2);
      saving = saving.then(() => writeFile(store, snapshot)).catch((err) => build.logger.error({ err: (err as Error).message, file: store }, 'cannot save tool pins'));
    };
    return {
      step: (_ctx, next) => next(),
      mcp: {
        allowListItem(ctx, item) {
          if (item.kind !== 'tool' || item.name === undefined) return true;
          const hash = toolHash({ ...item.item, name: item.name });
          const pinned = pins.pins.get(item.name);
          if (pinned === undefined) {
            pins.pins.set(item.name, hash);
            ctx.log.info({ tool: item.name, hash }, 'tool pinned');
            save();
            return true;
          }
          if (pinned === hash) {
            pins.changed.delete(item.name);
            return true;
          }
          pins.changed.add(item.name);
          ctx.log.warn({ tool: item.name, pinned, hash, action: block ? 'blocked' : 'flagged' }, 'tool definition changed since it was pinned');
          return !block;
        },
        onRequest(_ctx, msg) {
          if (block && msg.method === 'tools/call' && msg.tool !== undefined && pins.changed.has(msg.tool)) {
            return { action: 'deny', message: `${ErrorCodes.FILTER_DENIED}: tool "${msg.tool}" changed since it was pinned; review it and update its pin` };
          }
          return { action: 'continue' };
        },
      },
    };
  },
};
