import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ErrorCodes, GatewayError } from '../errors.ts';

/** The environment variables that name the session keys (documented in the README's Deploy section). */
export const SESSION_KEY_ENV = {
  key: 'PORTCULLIS_SESSION_KEY',
  keyFile: 'PORTCULLIS_SESSION_KEY_FILE',
  previous: 'PORTCULLIS_SESSION_KEY_PREVIOUS',
  previousFile: 'PORTCULLIS_SESSION_KEY_PREVIOUS_FILE',
} as const;

/** Set by a supervisor for its workers when it generated the key itself: the key is per start, not shared. */
export const GENERATED_KEY_ENV = 'PORTCULLIS_SESSION_KEY_GENERATED';

/** One 32-byte key and what is derived from it (HKDF-SHA256, one label per use, so no key serves two purposes). */
export interface SessionKey {
  /** AES-256-GCM key of session ids. */
  readonly seal: Buffer;
  /** HMAC-SHA256 key that authenticates requests between replicas (peer.ts). */
  readonly peer: Buffer;
  /** HMAC-SHA256 key of the tokens MCP hands clients: request state and list cursors (backends/mcp/request-state.ts). */
  readonly state: Buffer;
}

/**
 * The keys of this process. `keys[0]` seals new session ids and signs peer requests; every key opens ids and
 * verifies peers, so that during a rotation ids sealed with the previous key stay valid. `shared` says the key came
 * from the operator (every replica has it): sessions then outlive this process, and closing one here must not end
 * its upstream sessions, which another replica may be serving.
 */
export interface SessionKeys {
  readonly keys: readonly SessionKey[];
  readonly shared: boolean;
}

function derive(raw: Buffer): SessionKey {
  const one = (label: string) => Buffer.from(hkdfSync('sha256', raw, Buffer.alloc(0), `portcullis ${label} v1`, 32));
  return { seal: one('session-id'), peer: one('peer'), state: one('mcp-state') };
}

/** Decodes base64 (or base64url) of exactly 32 bytes; `what` names the setting in the error. */
function decode(text: string, what: string): Buffer {
  const trimmed = text.trim();
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)) {
    throw new GatewayError(ErrorCodes.SESSION_KEY_INVALID, `${what}: not base64: generate a key with "openssl rand -base64 32"`);
  }
  const raw = Buffer.from(trimmed, 'base64');
  if (raw.length !== 32) {
    throw new GatewayError(ErrorCodes.SESSION_KEY_INVALID, `${what}: expected base64 of 32 bytes, got ${raw.length} bytes: generate a key with "openssl rand -base64 32"`);
  }
  return raw;
}

function fromEnv(env: NodeJS.ProcessEnv, name: string, fileName: string): Buffer | undefined {
  const value = env[name];
  const file = env[fileName];
  if (value !== undefined && value !== '' && file !== undefined && file !== '') {
    throw new GatewayError(ErrorCodes.SESSION_KEY_INVALID, `${name} and ${fileName} are both set: set one`);
  }
  if (value !== undefined && value !== '') return decode(value, name);
  if (file === undefined || file === '') return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new GatewayError(ErrorCodes.SESSION_KEY_INVALID, `${fileName}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
  return decode(text, `${fileName} (${file})`);
}

/**
 * Reads the session keys from the environment: `PORTCULLIS_SESSION_KEY` or `PORTCULLIS_SESSION_KEY_FILE` (base64
 * of 32 bytes), and optionally the previous key (`..._PREVIOUS` or `..._PREVIOUS_FILE`) accepted during a
 * rotation. Without a key, a random one: ids are then valid in this process (and its workers) only. Throws
 * PCL_ERR_SESSION_KEY_INVALID on a bad setting.
 */
export function readSessionKeys(env: NodeJS.ProcessEnv = process.env): SessionKeys {
  const current = fromEnv(env, SESSION_KEY_ENV.key, SESSION_KEY_ENV.keyFile);
  const previous = fromEnv(env, SESSION_KEY_ENV.previous, SESSION_KEY_ENV.previousFile);
  if (!current) {
    if (previous) throw new GatewayError(ErrorCodes.SESSION_KEY_INVALID, `${SESSION_KEY_ENV.previous} is set without ${SESSION_KEY_ENV.key}: the previous key only opens old ids; set the current key too`);
    return { keys: [derive(randomBytes(32))], shared: false };
  }
  const keys = [derive(current)];
  if (previous && !previous.equals(current)) keys.push(derive(previous));
  return { keys, shared: env[GENERATED_KEY_ENV] !== '1' };
}

let loaded: SessionKeys | undefined;

/** This process's session keys, read once (the gateway start calls it first, so a bad key fails the start). */
export function sessionKeys(): SessionKeys {
  return (loaded ??= readSessionKeys());
}

/** HMAC-SHA256 of `parts` (joined by newlines) under a peer key, hex. */
export function peerMac(key: SessionKey, parts: readonly string[]): string {
  return createHmac('sha256', key.peer).update(parts.join('\n')).digest('hex');
}
