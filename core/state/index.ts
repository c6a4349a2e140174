/**
 * Typed, scoped state.
 *
 * Two lifetimes:
 * - `StateStore`: what survives a reload (JWKS caches, MCP session stores, tool pins). A value is reached by a
 *   typed `StateKey<T>` and the id of the scope that owns it (a route's `scopeId`, a listener's, or `GLOBAL_SCOPE`
 *   for gateway-wide caches keyed by their own content, such as a JWKS URL).
 * - `RequestVars`: what one policy hands another within one request (the credential headers authentication read,
 *   authorization's cached input). Reached through `ctx.vars` with the same kind of typed key.
 *
 * Keys are compared by identity, never by name: two modules cannot collide by picking the same string.
 */

/** A typed key. Create one per kind of value, at module level: `const SESSIONS = stateKey<SessionStore>('mcp.sessions')`. */
export interface StateKey<T> {
  /** For messages and debugging only; keys are compared by identity. */
  readonly name: string;
  /** Phantom field that carries `T`; never set. */
  readonly __type?: (value: T) => T;
}

export function stateKey<T>(name: string): StateKey<T> {
  return Object.freeze({ name }) as StateKey<T>;
}

/** Scope for gateway-wide state whose key already says what it is (a JWKS URL, a compiled-policy hash). */
export const GLOBAL_SCOPE = 'gateway';

/** State that outlives a reload. One per gateway; every runtime it builds shares it. */
export class StateStore {
  private readonly values = new Map<StateKey<unknown>, Map<string, unknown>>();

  get<T>(key: StateKey<T>, scope: string): T | undefined {
    return this.values.get(key as StateKey<unknown>)?.get(scope) as T | undefined;
  }

  /** The value for `key` in `scope`, created by `create` the first time. */
  getOrCreate<T>(key: StateKey<T>, scope: string, create: () => T): T {
    let byScope = this.values.get(key as StateKey<unknown>);
    if (!byScope) this.values.set(key as StateKey<unknown>, (byScope = new Map()));
    if (byScope.has(scope)) return byScope.get(scope) as T;
    const value = create();
    byScope.set(scope, value);
    return value;
  }

  set<T>(key: StateKey<T>, scope: string, value: T): void {
    let byScope = this.values.get(key as StateKey<unknown>);
    if (!byScope) this.values.set(key as StateKey<unknown>, (byScope = new Map()));
    byScope.set(scope, value);
  }

  delete<T>(key: StateKey<T>, scope: string): void {
    const byScope = this.values.get(key as StateKey<unknown>);
    byScope?.delete(scope);
    if (byScope?.size === 0) this.values.delete(key as StateKey<unknown>);
  }

  /** Every scope that holds a value for `key` (for the admin view and tests). */
  scopes<T>(key: StateKey<T>): string[] {
    return [...(this.values.get(key as StateKey<unknown>)?.keys() ?? [])];
  }
}

/** Per-request values, typed by key. Created lazily: a request whose policies share nothing allocates nothing. */
export class RequestVars {
  private map?: Map<StateKey<unknown>, unknown>;

  get<T>(key: StateKey<T>): T | undefined {
    return this.map?.get(key as StateKey<unknown>) as T | undefined;
  }

  set<T>(key: StateKey<T>, value: T): void {
    (this.map ??= new Map()).set(key as StateKey<unknown>, value);
  }

  has<T>(key: StateKey<T>): boolean {
    return this.map?.has(key as StateKey<unknown>) === true;
  }
}

/**
 * The scope id of a route: stable across reloads while the route keeps its bind, listener and name, and unique
 * within the gateway (route names are unique within their listener, listener names within their bind).
 */
export function routeScopeId(bindKey: string, listenerName: string, routeName: string): string {
  return `${bindKey}/${listenerName}/${routeName}`;
}

export function listenerScopeId(bindKey: string, listenerName: string): string {
  return `${bindKey}/${listenerName}`;
}
