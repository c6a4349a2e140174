// What one replica's session ids carry, shared by the MCP backend (which hands ids out) and core/cluster (which
// routes requests by them): a leaf, so that neither imports the other.
export { ownedSessionId, ownerOfSessionId, WORKER_INDEX_ENV, workerIndex } from './identity.ts';
export { PEER_ADDRESS_ENV, PEER_LISTEN_ENV, PEER_TIMEOUT_ENV, peerSettings, readPeerSettings, selfPeerAddress, type PeerSettings } from './peer-address.ts';
export { openSessionId, sealSessionId, type OpenFailure, type ResumableTarget, type SessionClaims } from './sealed-id.ts';
export { GENERATED_KEY_ENV, peerMac, readSessionKeys, SESSION_KEY_ENV, sessionKeys, type SessionKey, type SessionKeys } from './session-key.ts';
