import type { GatewayConfig } from './config.ts';

// The fetch API's Request and Response, read off the global scope, so that these types also compile where no
// library declares them (filters are type-checked without Node's or the DOM's types).
/** The fetch API's `Request` (Node 24's global). @example new Request('http://localhost/api') */
export type FetchRequest = typeof globalThis extends { Request: { prototype: infer R } } ? R : never;
/** The fetch API's `Response` (Node 24's global). @example await res.text() */
export type FetchResponse = typeof globalThis extends { Response: { prototype: infer R } } ? R : never;

/**
 * Options of {@link CreateGateway}.
 *
 * @example
 * const gateway = await createGateway('./gateway.config.ts', { watch: true, logLevel: 'info' });
 */
export interface CreateGatewayOptions {
  /**
   * Once listening, reload when the config file or a file it names changes (a config object has no file: only the
   * files its policies name are watched).
   * @default false
   * @example true
   */
  watch?: boolean;
  /** Overrides `logging.level` of the config. @default the config's @example 'debug' */
  logLevel?: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
  /** Overrides `logging.format` of the config. @default the config's @example 'pretty' */
  logFormat?: 'json' | 'pretty';
  /**
   * Where the relative paths of a config object (Rego files, filters, certificates) start; a config file's own
   * folder is used for a path.
   * @default process.cwd()
   * @example '/etc/portcullis'
   */
  baseDir?: string;
}

/**
 * Options of {@link PortcullisGateway.handle}.
 *
 * @example
 * await gateway.handle(new Request('http://localhost/api'), { clientAddress: '10.0.0.7' });
 */
export interface GatewayHandleOptions {
  /** Key of the bind the request is served as arriving on (`"<address>:<port>"`). @default the first bind @example '0.0.0.0:8080' */
  bind?: string;
  /** The client's address, as policies and `X-Forwarded-For` see it. @default '127.0.0.1' @example '10.0.0.7' */
  clientAddress?: string;
}

/**
 * What a reload did: `ok` when the new config serves, else the error (the previous config still serves).
 *
 * @example
 * const { ok, error } = await gateway.reload();
 */
export interface GatewayReloadResult {
  ok: boolean;
  error?: Error;
}

/**
 * A gateway made by {@link CreateGateway}. It answers in process at once (`handle`, no sockets); `listen` opens
 * its binds and, as the config asks, the admin, readiness and stats servers. Close it when done.
 *
 * @example
 * import { createGateway } from 'portcullis';
 * const gateway = await createGateway({ binds: [{ port: 8080, listeners: [{ routes: [{ backends: [{ host: '127.0.0.1:9000' }] }] }] }] });
 * const res = await gateway.handle(new Request('http://localhost/health'));
 * await gateway.close();
 */
export interface PortcullisGateway {
  /** Answers one request in process, through the same pipeline as a socket's: policies, backends, events. */
  handle(request: FetchRequest, options?: GatewayHandleOptions): Promise<FetchResponse>;
  /** Opens the binds (and admin, readiness, stats servers); resolves with the port of each bind, in config order. */
  listen(): Promise<{ ports: readonly number[] }>;
  /**
   * Builds the config again (the file again, or the object given here) beside the running one and swaps it in when
   * all of it is valid; in-flight requests finish on the old one.
   */
  reload(config?: GatewayConfig): Promise<GatewayReloadResult>;
  /** Stops taking requests, drains in-flight ones (up to `shutdown.drainTimeoutMs`) and releases everything. */
  close(): Promise<void>;
}

/**
 * Creates a gateway from a config object or the path of a config file (`gateway.config.ts`, or agentgateway's
 * YAML), with the built-in policies. The config is validated as `portcullis validate` does: a bad one rejects with
 * `PCL_ERR_CONFIG_INVALID` listing every issue with its path.
 *
 * @example
 * const gateway = await createGateway('./gateway.config.ts');
 * await gateway.listen();
 */
export type CreateGateway = (config: GatewayConfig | string, options?: CreateGatewayOptions) => Promise<PortcullisGateway>;
