import { ErrorCodes, GatewayError } from '../errors.ts';
import { PEER_ADDRESS_ENV, peerSettings, SESSION_KEY_ENV, sessionKeys } from '../replica/index.ts';
import { PeerChannel } from './peer.ts';

export type { PeerChannel };

/**
 * Reads and checks this process's session keys and peer settings (a bad one throws its PCL_ERR_ code), and makes
 * the peer channel when the key is shared by replicas; without an operator's key, ids are this process's only and
 * nothing is forwarded.
 */
export function createPeerChannel(): PeerChannel | undefined {
  const keys = sessionKeys();
  const settings = peerSettings();
  if (!keys.shared) {
    if (settings.address) {
      throw new GatewayError(
        ErrorCodes.PEER_ADDRESS_INVALID,
        `${PEER_ADDRESS_ENV} is set but no shared session key is: set ${SESSION_KEY_ENV.key} (or ${SESSION_KEY_ENV.keyFile}) to the same key on every replica`,
      );
    }
    return undefined;
  }
  return new PeerChannel(settings, keys);
}
