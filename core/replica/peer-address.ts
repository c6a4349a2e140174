import { ErrorCodes, GatewayError } from '../errors.ts';

/** Where other replicas reach this one for sessions it owns (`host:port`); unset: nobody forwards here. */
export const PEER_ADDRESS_ENV = 'PORTCULLIS_PEER_ADDRESS';
/** Where this replica listens for peers (`host:port`); default: every interface, on the port of the peer address. */
export const PEER_LISTEN_ENV = 'PORTCULLIS_PEER_LISTEN';
/** How long a forwarded request may wait for the owner's response head, in ms. @default 120000 */
export const PEER_TIMEOUT_ENV = 'PORTCULLIS_PEER_TIMEOUT_MS';

export interface PeerSettings {
  /** The advertised address, as other replicas dial it ('' when unset). */
  address: string;
  /** Where to listen, when `address` is set. */
  listen?: { host: string; port: number };
  /** Bound on the wait for the owner's response head (long tool calls answer only when done). */
  timeoutMs: number;
}

/** `host:port` (IPv6 in brackets), or a PCL_ERR_PEER_ADDRESS_INVALID naming the variable. */
function hostPort(value: string, name: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 1 || port > 65535) {
    throw new GatewayError(ErrorCodes.PEER_ADDRESS_INVALID, `${name}: expected host:port (for example "10.0.0.7:15030" or "$(POD_IP):15030"), got "${value.slice(0, 100)}"`);
  }
  return { host: m[1].replace(/^\[|\]$/g, ''), port };
}

/** Reads the peer settings from the environment; throws PCL_ERR_PEER_ADDRESS_INVALID on a bad value. */
export function readPeerSettings(env: NodeJS.ProcessEnv = process.env): PeerSettings {
  const raw = env[PEER_TIMEOUT_ENV];
  const timeoutMs = raw === undefined || raw === '' ? 120_000 : Number(raw);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 100 || timeoutMs > 3_600_000) {
    throw new GatewayError(ErrorCodes.PEER_ADDRESS_INVALID, `${PEER_TIMEOUT_ENV}: expected milliseconds between 100 and 3600000, got "${String(raw).slice(0, 40)}"`);
  }
  const address = env[PEER_ADDRESS_ENV] ?? '';
  if (address === '') {
    if (env[PEER_LISTEN_ENV]) throw new GatewayError(ErrorCodes.PEER_ADDRESS_INVALID, `${PEER_LISTEN_ENV} is set without ${PEER_ADDRESS_ENV}: other replicas would not know where to reach this one`);
    return { address: '', timeoutMs };
  }
  const advertised = hostPort(address, PEER_ADDRESS_ENV);
  const listen = env[PEER_LISTEN_ENV] ? hostPort(env[PEER_LISTEN_ENV]!, PEER_LISTEN_ENV) : { host: '0.0.0.0', port: advertised.port };
  return { address, listen, timeoutMs };
}

let loaded: PeerSettings | undefined;

/** This process's peer settings, read once. */
export function peerSettings(): PeerSettings {
  return (loaded ??= readPeerSettings());
}

/** This replica's advertised peer address ('' when none). */
export function selfPeerAddress(): string {
  return peerSettings().address;
}
