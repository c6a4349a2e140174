import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/**
 * The one check for every URL the gateway, or an agent on a client's behalf, is asked to call when the URL did
 * not come from the operator's own config: today A2A push-notification URLs and OpenAPI server URLs read from a
 * spec (OAuth and JWKS endpoints come from the operator's config, so they are not guarded; a future caller of a URL
 * taken from client input or a discovery document must come through here). It checks, in order: that the URL parses (WHATWG URL), its
 * scheme, that it carries no credentials, the allowlist (scheme, host and port equal, path under the entry's), and
 * the class of the address it names or resolves to (loopback, private, link-local and cloud metadata, unspecified,
 * multicast, reserved are refused unless the allowlist entry that matched names that address itself, or the rule
 * allows private addresses). Redirects are the caller's to refuse: a guarded call never follows them.
 */
export interface OutboundRule {
  /** URL prefixes allowed; absent means any URL that passes the other checks. */
  allowedUrls?: readonly string[];
  /** @default ['https:', 'http:'] */
  schemes?: readonly string[];
  /** Allow loopback, private, link-local and other non-public addresses. @default false */
  allowPrivateAddresses?: boolean;
  /** How long a name lookup may take before the URL is refused. @default 2000 */
  lookupTimeoutMs?: number;
}

export type OutboundVerdict = { ok: true; url: URL } | { ok: false; reason: string };

/** Address ranges no guarded URL may reach unless allowed explicitly (IANA special-purpose registries). */
const NON_PUBLIC = (() => {
  const b = new BlockList();
  const v4: Array<[string, number]> = [
    ['0.0.0.0', 8], // this network, unspecified
    ['10.0.0.0', 8],
    ['100.64.0.0', 10], // carrier-grade NAT
    ['127.0.0.0', 8],
    ['169.254.0.0', 16], // link-local, cloud metadata (169.254.169.254)
    ['172.16.0.0', 12],
    ['192.0.0.0', 24],
    ['192.0.2.0', 24],
    ['192.168.0.0', 16],
    ['198.18.0.0', 15],
    ['198.51.100.0', 24],
    ['203.0.113.0', 24],
    ['224.0.0.0', 4], // multicast
    ['240.0.0.0', 4], // reserved, broadcast
  ];
  for (const [net, prefix] of v4) b.addSubnet(net, prefix, 'ipv4');
  const v6: Array<[string, number]> = [
    ['::', 128],
    ['::1', 128],
    ['64:ff9b::', 96], // NAT64
    ['100::', 64],
    ['2001:db8::', 32],
    ['fc00::', 7], // unique local
    ['fe80::', 10], // link-local
    ['fec0::', 10],
    ['ff00::', 8], // multicast
  ];
  for (const [net, prefix] of v6) b.addSubnet(net, prefix, 'ipv6');
  return b;
})();

/** The IPv4 address an IPv4-mapped or -compatible IPv6 address stands for, else the address itself. */
function unmapped(ip: string): string {
  const m = /^::(?:ffff:)?(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (m) return m[1];
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(ip);
  if (hex) {
    const a = parseInt(hex[1], 16);
    const b = parseInt(hex[2], 16);
    return `${a >> 8}.${a & 255}.${b >> 8}.${b & 255}`;
  }
  return ip;
}

/** Whether an IP address is outside the public internet (loopback, private, link-local, metadata, reserved). */
export function isNonPublicAddress(ip: string): boolean {
  const plain = unmapped(ip.replace(/^\[|\]$/g, ''));
  const family = isIP(plain);
  if (family === 0) return true;
  return NON_PUBLIC.check(plain, family === 4 ? 'ipv4' : 'ipv6');
}

const hostOf = (u: URL) => u.hostname.replace(/^\[|\]$/g, '');

export interface OutboundGuard {
  /** The checks that need no name lookup: parse, scheme, credentials, allowlist, literal address class. */
  checkSync(url: unknown): OutboundVerdict;
  /** Every check, the name resolved (each address it resolves to must pass). */
  check(url: unknown): Promise<OutboundVerdict>;
}

export function createOutboundGuard(rule: OutboundRule = {}): OutboundGuard {
  const schemes = new Set(rule.schemes ?? ['https:', 'http:']);
  const entries = rule.allowedUrls?.map((a) => new URL(a));
  const timeoutMs = rule.lookupTimeoutMs ?? 2000;

  /** The entry that allows the URL, `null` when there is no allowlist, undefined when none does. */
  function entryFor(u: URL): URL | null | undefined {
    if (!entries) return null;
    return entries.find((e) => e.protocol === u.protocol && e.host === u.host && (u.pathname === e.pathname || u.pathname.startsWith(e.pathname.endsWith('/') ? e.pathname : `${e.pathname}/`)));
  }

  /** An address is allowed when it is public, private ones are allowed, or the matched entry names it literally. */
  const addressAllowed = (ip: string, entry: URL | null) => rule.allowPrivateAddresses === true || !isNonPublicAddress(ip) || (entry !== null && hostOf(entry) === ip);

  function checkSync(raw: unknown): OutboundVerdict {
    if (typeof raw !== 'string') return { ok: false, reason: 'is not a string' };
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      return { ok: false, reason: 'is not a valid URL' };
    }
    if (!schemes.has(u.protocol)) return { ok: false, reason: `has scheme ${u.protocol} (allowed: ${[...schemes].join(', ')})` };
    if (u.username || u.password) return { ok: false, reason: 'carries credentials' };
    const entry = entryFor(u);
    if (entry === undefined) return { ok: false, reason: 'is not in the allowlist' };
    const host = hostOf(u);
    if (isIP(host) !== 0 && !addressAllowed(host, entry)) return { ok: false, reason: `names a non-public address (${host})` };
    if (host === 'localhost' || host.endsWith('.localhost')) {
      if (!(rule.allowPrivateAddresses === true || (entry !== null && hostOf(entry) === host))) return { ok: false, reason: 'names localhost' };
    }
    return { ok: true, url: u };
  }

  async function check(raw: unknown): Promise<OutboundVerdict> {
    const first = checkSync(raw);
    if (!first.ok) return first;
    const host = hostOf(first.url);
    if (isIP(host) !== 0 || rule.allowPrivateAddresses === true) return first;
    const entry = entryFor(first.url) ?? null;
    let timer: NodeJS.Timeout | undefined;
    try {
      const addresses = await Promise.race([
        lookup(host, { all: true, verbatim: true }),
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`lookup took over ${timeoutMs} ms`)), timeoutMs))),
      ]);
      const bad = addresses.find((a) => !addressAllowed(a.address, entry));
      if (bad) return { ok: false, reason: `resolves to a non-public address (${bad.address})` };
      return first;
    } catch (err) {
      // A name the gateway cannot resolve: an allowlisted URL is the operator's choice (the agent may resolve
      // names the gateway cannot); with no allowlist, an unresolvable name is refused.
      if (entry) return first;
      return { ok: false, reason: `cannot be resolved (${(err as Error).message})` };
    } finally {
      clearTimeout(timer);
    }
  }

  return { checkSync, check };
}
