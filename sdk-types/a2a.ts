/**
 * The `a2a` backend: Agent-to-Agent (A2A) agents served behind the gateway, with their agent cards rewritten to
 * point at the gateway, every message decided by the route's policies, and streams passed through event by event.
 */

/**
 * An A2A backend entry of a route.
 * @example { a2a: { url: 'http://127.0.0.1:3601' } }
 */
export interface A2aBackend {
  /** The agent(s) behind this backend. */
  a2a: A2aBackendConfig;
  /** Unused (a route has one A2A backend); accepted for symmetry with other backends. @default 1 */
  weight?: number;
}

/**
 * One agent served at the route's path (`url`), or several agents each at `<route path>/<name>` (`agents`), with a
 * listing of the cards the caller may see at the route's path itself. Exactly one of `url` and `agents`.
 * @example { url: 'http://127.0.0.1:3601', cardTtlMs: 30000 }
 * @example { agents: [{ name: 'research', url: 'http://127.0.0.1:3601' }, { name: 'ops', url: 'http://127.0.0.1:3602' }] }
 */
export interface A2aBackendConfig {
  /** Base URL of the one agent: its card is fetched from `<url>/.well-known/agent-card.json`. @default undefined @example 'http://127.0.0.1:3601' */
  url?: string;
  /** Several agents behind one route, each at `<route path>/<name>`. @default undefined */
  agents?: A2aAgent[];
  /** How long a fetched agent card is reused before it is fetched again; a reload always fetches anew. @default 60000 @example 5000 */
  cardTtlMs?: number;
  /** Push-notification URLs clients may give the agent. @default { allowedUrls: [] } (every push URL refused) */
  pushNotifications?: A2aPushNotifications;
  /**
   * Who may read the agent card at `/.well-known/agent-card.json`: `public` serves it without the route's
   * authentication and authorization (every other policy still applies), so a client can discover the security
   * schemes it must use; `authenticated` serves it only to callers the route lets through. The card lists the
   * skills the caller may use either way, and the extended card always needs authentication.
   * @default 'public'
   * @example 'authenticated'
   */
  cardVisibility?: 'public' | 'authenticated';
}

/**
 * An agent of a multi-agent A2A backend.
 * @example { name: 'research', url: 'http://127.0.0.1:3601' }
 */
export interface A2aAgent {
  /** Path segment the agent is served at, and its name in authorization input. @example 'research' */
  name: string;
  /** Base URL of the agent. @example 'http://127.0.0.1:3601' */
  url: string;
}

/**
 * Where an agent may send push notifications: a client-given webhook URL, in whatever spelling the client uses
 * (camelCase or snake_case, in a send's `configuration` or in a push-config method), must start with one of these
 * (same scheme, host and port; path prefix), carry no credentials, and name or resolve to a public address (unless
 * the entry names that address itself, or `allowPrivateAddresses`), or the request is refused
 * (`PCL_ERR_A2A_PUSH_URL_DENIED`), so that an agent cannot be turned into a request forger. With no allowed URL the
 * rewritten agent card says `capabilities.pushNotifications: false`.
 * @example { allowedUrls: ['https://hooks.example.com/a2a/'] }
 */
export interface A2aPushNotifications {
  /** Allowed URL prefixes. @default [] @example ['https://hooks.example.com/a2a/'] */
  allowedUrls: string[];
  /**
   * Allow push URLs whose host names or resolves to a loopback, private, link-local (cloud metadata) or reserved
   * address although the allowlist entry names a host, not that address.
   * @default false
   * @example true
   */
  allowPrivateAddresses?: boolean;
}
