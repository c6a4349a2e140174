import { BlockList, isIP } from 'node:net';

/** `::ffff:10.0.0.1` (an IPv4 peer on a dual-stack socket) is `10.0.0.1`. */
export function normalizeAddress(address: string): string {
  const a = address.trim();
  return a.startsWith('::ffff:') && isIP(a.slice(7)) === 4 ? a.slice(7) : a;
}

/** Why an entry of `trustedProxies` is not an address or a CIDR range, or undefined when it is one. */
export function proxyEntryProblem(entry: string): string | undefined {
  const [addr, bits, extra] = entry.split('/');
  const family = isIP(addr);
  if (family === 0 || extra !== undefined) return `expected an IP address or a CIDR range, got ${JSON.stringify(entry)}`;
  if (bits === undefined) return undefined;
  const max = family === 4 ? 32 : 128;
  if (!/^\d+$/.test(bits) || Number(bits) > max) return `expected a prefix length of 0 to ${max}, got ${JSON.stringify(entry)}`;
  return undefined;
}

/**
 * The client's address: the connection's peer, or, when the peer is a trusted proxy, the rightmost address of
 * `X-Forwarded-For` that is not a trusted proxy (the left part of the header is whatever the client wrote).
 */
export function createClientAddressResolver(trustedProxies: readonly string[]): (peer: string, forwardedFor: string | string[] | undefined) => string {
  if (trustedProxies.length === 0) return (peer) => normalizeAddress(peer);
  const trusted = new BlockList();
  for (const entry of trustedProxies) {
    const [addr, bits] = entry.split('/');
    const type = isIP(addr) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) trusted.addAddress(addr, type);
    else trusted.addSubnet(addr, Number(bits), type);
  }
  const isTrusted = (a: string) => {
    const family = isIP(a);
    return family !== 0 && trusted.check(a, family === 6 ? 'ipv6' : 'ipv4');
  };
  return (peer, forwardedFor) => {
    let client = normalizeAddress(peer);
    if (!isTrusted(client) || forwardedFor === undefined) return client;
    const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',');
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = normalizeAddress(hops[i]);
      if (hop === '') continue;
      client = hop;
      if (!isTrusted(hop)) break;
    }
    return client;
  };
}
