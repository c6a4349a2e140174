/**
 * Compiles an origin allowlist into one test: `*`, exact origins (case-insensitive, a trailing slash ignored), and
 * `https://*.example.com` wildcards (`*` stands for one or more characters other than `/`). One rule for the CORS
 * policy and the MCP endpoint's DNS-rebinding protection.
 */
export function originMatcher(origins: readonly string[]): (origin: string) => boolean {
  if (origins.includes('*')) return () => true;
  const exact = new Set(origins.filter((o) => !o.includes('*')).map((o) => o.toLowerCase().replace(/\/$/, '')));
  const patterns = origins
    .filter((o) => o.includes('*'))
    .map((o) => new RegExp(`^${o.toLowerCase().split('*').map((p) => p.replace(/[.+?^${}()|[\]\\/]/g, '\\$&')).join('[^/]+')}$`));
  return (origin) => {
    const o = origin.toLowerCase();
    return exact.has(o) || patterns.some((p) => p.test(o));
  };
}
