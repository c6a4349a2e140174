import { BlockList, isIP } from 'node:net';
import type { McpDnsRebindingProtection } from '../../../../sdk-types/config.ts';
import type { Identity } from '../../../../sdk-types/identity.ts';
import { ErrorCodes, GatewayError } from '../../../errors.ts';
import type { RequestContext } from '../../../pipeline/index.ts';
import { originMatcher } from '../../../routing/origin.ts';

/**
 * Who owns a session: the identity authentication established, as a string that two different callers cannot
 * share. JWTs by issuer and subject, API keys by name; callers without a credential are all `anonymous`.
 */
export function ownerOf(identity: Identity | undefined): string {
  if (!identity || identity.kind === 'anonymous') return 'anonymous';
  if (identity.kind === 'jwt') return `jwt\u0000${String(identity.claims.iss ?? '')}\u0000${identity.subject}`;
  return `${identity.kind}\u0000${identity.subject}`;
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** `localhost`, 127.0.0.0/8 and ::1, in any spelling (brackets, IPv4-mapped, long IPv6 forms). */
function isLoopbackAddress(address: string): boolean {
  const a = address.toLowerCase().replace(/^\[|\]$/g, '').replace(/^::ffff:(?=\d+\.)/, '');
  if (a === 'localhost' || a.endsWith('.localhost')) return true;
  const family = isIP(a);
  return family !== 0 && LOOPBACK.check(a, family === 4 ? 'ipv4' : 'ipv6');
}

/** `host[:port]` of a Host header or URL host, split; IPv6 stays in brackets. */
function splitHost(host: string): { name: string; port: string } {
  const h = host.toLowerCase();
  const m = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(h);
  return m ? { name: m[1], port: m[2] ?? '' } : { name: h, port: '' };
}

export interface RebindingGuardOptions {
  config: McpDnsRebindingProtection | undefined;
  /** The route's CORS `allowOrigins`. */
  corsOrigins: readonly string[] | undefined;
  /** The address the listener's bind listens on; when unknown, the client's address stands for it. */
  bindAddress: string | undefined;
}

/**
 * DNS-rebinding protection (MCP transports, "Security Warning"): a web page whose name was rebound to this
 * gateway's address sends its own `Host` and `Origin`. A loopback listener answers loopback names only (plus
 * `allowedHosts`), and a request with an `Origin` is served only when that origin is allowed or is the endpoint's
 * own. Requests without `Origin` are not browsers' cross-origin requests and pass. Returns undefined when off.
 */
export function createRebindingGuard(options: RebindingGuardOptions): ((ctx: RequestContext) => void) | undefined {
  const config = options.config ?? {};
  if (config.enabled === false) return undefined;
  const hosts = new Set((config.allowedHosts ?? []).map((h) => h.toLowerCase()));
  const listedOrigin = originMatcher([...(config.allowedOrigins ?? []), ...(options.corsOrigins ?? [])]);
  const bindLoopback = options.bindAddress === undefined ? undefined : isLoopbackAddress(options.bindAddress);

  const hostAllowed = (ctx: RequestContext, host: string): boolean => {
    const { name } = splitHost(host);
    if (hosts.has(host.toLowerCase()) || hosts.has(name)) return true;
    const loopback = bindLoopback ?? isLoopbackAddress(ctx.clientAddress);
    if (loopback) return isLoopbackAddress(name);
    return hosts.size === 0;
  };

  return (ctx) => {
    const host = ctx.clientHeaders.host;
    if (typeof host === 'string' && host !== '' && !hostAllowed(ctx, host)) {
      throw new GatewayError(
        ErrorCodes.MCP_HOST_FORBIDDEN,
        `Host "${host.slice(0, 100)}" is not allowed on this MCP endpoint (DNS-rebinding protection): list it in the MCP backend's dnsRebindingProtection.allowedHosts`,
      );
    }
    const origin = ctx.clientHeaders.origin;
    if (typeof origin !== 'string') return;
    if (listedOrigin(origin)) return;
    let sameOrigin = false;
    try {
      sameOrigin = typeof host === 'string' && new URL(origin).host === host.toLowerCase();
    } catch {
      // `null` and other opaque origins are never the endpoint's own.
    }
    if (sameOrigin) return;
    throw new GatewayError(
      ErrorCodes.MCP_ORIGIN_FORBIDDEN,
      `Origin "${origin.slice(0, 100)}" is not allowed on this MCP endpoint (DNS-rebinding protection): list it in the route's cors.allowOrigins or the MCP backend's dnsRebindingProtection.allowedOrigins`,
    );
  };
}
