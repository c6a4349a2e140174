import { randomBytes } from 'node:crypto';
import { ownedSessionId, workerIndex, selfPeerAddress, openSessionId, sealSessionId, type SessionClaims, sessionKeys, type SessionKeys } from '../../replica/index.ts';
import { Session, type SessionEnv } from './session.ts';

/** Why an id names no session here, for the log line (the client sees 404 whatever the reason). */
export type RejectReason = 'malformed' | 'unauthentic' | 'other-route' | 'other-owner' | 'owner-gone' | 'bound-elsewhere';

/**
 * Issues and opens the session ids of one MCP route (core/cluster/sealed-id.ts). An id carries what any replica
 * needs: the route, the owner identity, the client's initialize params and, when every target is remote, each
 * target's upstream session (so another replica rebuilds the session from the id alone, with no shared store);
 * otherwise the owning replica's peer address, where other replicas forward the session's requests
 * (core/cluster/peer.ts). Stateless routes and the stateless protocol era never come here.
 */
export class SessionIds {
  private readonly env: SessionEnv;
  private readonly keys: SessionKeys;
  private readonly peer: string;
  private readonly worker = workerIndex();
  private readonly prefix = ownedSessionId('');

  /** The route's identity in ids: its place in the config and its name (display names alone repeat). */
  private readonly route: string;

  constructor(env: SessionEnv, route: string, keys: SessionKeys = sessionKeys(), peer: string = selfPeerAddress()) {
    this.env = env;
    this.route = route;
    this.keys = keys;
    this.peer = peer;
  }

  get logger() {
    return this.env.logger;
  }

  get routeName(): string {
    return this.env.routeName;
  }

  /** Whether ids outlive this process (an operator's key, shared by the replicas). */
  get shared(): boolean {
    return this.keys.shared;
  }

  /** The sealed id of a session being committed to its store. */
  issue(session: Session): string {
    const claims: SessionClaims = {
      f: 1,
      r: this.route,
      o: session.owner,
      v: session.protocolVersion,
      t: Date.now(),
      n: randomBytes(6).toString('base64url'),
    };
    if (this.worker !== undefined) claims.w = this.worker;
    // A legacy-SSE client session is committed before its initialize, and lives on its stream: bound.
    const upstream = session.clientInit ? session.portableTargets() : undefined;
    if (upstream) {
      claims.u = upstream;
      claims.c = { capabilities: session.clientInit.capabilities, clientInfo: session.clientInit.clientInfo };
    } else {
      claims.p = this.peer;
    }
    return sealSessionId(claims, this.keys, this.prefix);
  }

  /**
   * The session an unknown id names, rebuilt here when it is resumable, with the route's current config; else
   * why not. Nothing is started upstream: the first call reaches the upstream sessions the id names.
   */
  rebuild(id: string, owner: string): { session: Session } | { reason: RejectReason } {
    const opened = openSessionId(id, this.keys);
    if ('failure' in opened) return { reason: opened.failure };
    const claims = opened.claims;
    if (claims.r !== this.route) return { reason: 'other-route' };
    if (claims.o !== owner) return { reason: 'other-owner' };
    if (!claims.u || !claims.c) return { reason: claims.p && claims.p !== this.peer ? 'bound-elsewhere' : 'owner-gone' };
    const session = new Session(this.env);
    session.id = id;
    session.owner = owner;
    session.keepUpstream = this.keys.shared;
    session.resume({ protocolVersion: claims.v, capabilities: claims.c.capabilities ?? {}, clientInfo: claims.c.clientInfo }, claims.v, claims.u);
    return { session };
  }
}
