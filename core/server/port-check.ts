import { createServer } from 'node:net';
import { ErrorCodes, GatewayError } from '../errors.ts';

/** A server address the gateway will open, with the setting and the CLI flag that move it. */
export interface PlannedAddress {
  /** `host:port`. */
  address: string;
  /** The config setting, e.g. `admin.address`. */
  setting: string;
  /** The CLI flag that overrides it, e.g. `--admin`. */
  flag?: string;
}

/**
 * Checks, before any port opens, that each address can be listened on, and reports every busy one at once: a busy
 * admin port used to stop the gateway after its data ports had opened, and a second busy port showed only after the
 * first was moved. Each message names the setting and the flag. (A port taken between this check and the real
 * listen still fails there, with its own message.)
 */
export async function checkAddressesFree(addresses: readonly PlannedAddress[]): Promise<void> {
  const failures: Array<{ message: string; error: NodeJS.ErrnoException }> = [];
  const seen = new Set<string>();
  for (const planned of addresses) {
    const { host, port } = splitHostPort(planned.address);
    if (port === 0 || seen.has(planned.address)) continue;
    seen.add(planned.address);
    const error = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      const server = createServer();
      server.once('error', (err) => resolve(err));
      server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
    });
    if (!error) continue;
    const how = planned.flag ? `set ${planned.setting} in the config, or pass ${planned.flag} <host:port> (${planned.flag} off turns it off)` : `set ${planned.setting} in the config`;
    const what = error.code === 'EADDRINUSE' ? 'is already in use (another Portcullis or agentgateway running?)' : `cannot be listened on (${error.code ?? error.message})`;
    failures.push({ message: `${planned.setting} ${planned.address} ${what}: ${how}`, error });
  }
  if (failures.length === 1) throw new GatewayError(ErrorCodes.BIND_FAILED, failures[0].message, { cause: failures[0].error });
  if (failures.length > 1) {
    throw new GatewayError(ErrorCodes.BIND_FAILED, `${failures.length} addresses cannot be listened on:\n${failures.map((f) => `  ${f.message}`).join('\n')}`, {
      cause: failures[0].error,
    });
  }
}

function splitHostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  return { host: address.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(address.slice(i + 1)) };
}
