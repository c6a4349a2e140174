import { createGateway } from '../../core/gateway/index.ts';
import type { PolicyDefinition } from '../../core/pipeline/index.ts';
import type { Runtime } from '../../core/server/index.ts';
import type { CreatedGateway } from '../../core/server/create.ts';
import { createLogger } from '../../core/telemetry/index.ts';
import { builtinPolicies } from '../../policies/index.ts';
import type { GatewayConfig } from '../../sdk-types/index.ts';
import { LogCapture } from './gateway.ts';

export interface TestRuntime {
  /** The runtime serving now. */
  readonly runtime: Runtime;
  readonly gateway: CreatedGateway;
  logs: LogCapture;
  /** `gateway.handle` for a path (or URL) on http://localhost, with fetch's options. */
  fetch(pathOrUrl: string, init?: RequestInit, options?: Parameters<Runtime['handle']>[1]): Promise<Response>;
  /** What `send` of helpers/gateway.ts answers, in process: a `host` header becomes the URL's authority. */
  send(path: string, options?: { method?: string; headers?: Record<string, string>; body?: string | Buffer }): Promise<SendResult>;
  close(): Promise<void>;
}

export interface SendResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json(): any;
}

/**
 * A gateway made by `createGateway(config)`, served in process through `handle`: the config object validated and
 * resolved as a file's would be (relative paths from the working directory), no socket. `policies` beyond the
 * built-in ones are added to them.
 */
export async function buildTestRuntime(config: GatewayConfig, policies: readonly PolicyDefinition[] = builtinPolicies): Promise<TestRuntime> {
  const logs = new LogCapture();
  const logger = createLogger({ level: 'debug', destination: logs.stream });
  const extra = policies.filter((p) => !builtinPolicies.includes(p));
  const gateway = await createGateway({ admin: { address: false }, readiness: { address: false }, ...config }, { logger, policies: extra });
  return {
    get runtime() {
      return gateway.gateway.current;
    },
    gateway,
    logs,
    fetch: (pathOrUrl, init, options) => gateway.handle(new Request(new URL(pathOrUrl, 'http://localhost'), init), options),
    async send(path, options = {}) {
      const { host = 'localhost', ...headers } = Object.fromEntries(Object.entries(options.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
      const res = await gateway.handle(new Request(`http://${host}${path}`, { method: options.method ?? 'GET', headers, body: options.body }));
      const text = await res.text();
      const record: Record<string, string | string[] | undefined> = {};
      for (const [name, value] of res.headers) if (name !== 'set-cookie') record[name] = value;
      const cookies = res.headers.getSetCookie();
      if (cookies.length > 0) record['set-cookie'] = cookies;
      return { status: res.status, headers: record, text, json: () => JSON.parse(text) };
    },
    close: () => gateway.close(),
  };
}
