import type { IncomingHttpHeaders } from 'node:http';
import type { RouteMatch } from '../../sdk-types/config.ts';

/** What the router needs of a route; the runtime passes its own route objects through untouched. */
export interface RoutableRoute {
  readonly hostnames: readonly string[];
  readonly matches: readonly RouteMatch[];
}

/** A match: one object per route match condition, built with the router and returned as it is (never change it). */
export interface RouteHit<R> {
  readonly route: R;
  /** The `pathPrefix` that matched, for prefix rewrites. */
  readonly matchedPrefix: string | undefined;
}

export interface MatchInput {
  host: string;
  method: string;
  path: string;
  search: string;
  headers: IncomingHttpHeaders;
  /** The query string parsed, by the first query condition that needs it (the router's cache). */
  query?: URLSearchParams;
}

type Test = (input: MatchInput) => boolean;

interface Entry<R> {
  hit: RouteHit<R>;
  test: Test;
  key: number[];
}

/**
 * Gateway-API precedence, compiled once per config: host name first (exact, then the longest wildcard, then
 * routes without host names), then path (exact, then regex, then the longest prefix), then a method condition,
 * then the most header conditions, the most query conditions, and finally config order.
 */
export function createRouter<R extends RoutableRoute>(routes: readonly R[]): (input: MatchInput) => RouteHit<R> | undefined {
  const exact = new Map<string, Entry<R>[]>();
  const wildcard = new Map<string, Entry<R>[]>(); // suffix ('.example.com') -> entries
  const any: Entry<R>[] = [];
  let order = 0;
  for (const route of routes) {
    const entries = route.matches.map((m) => compileMatch(route, m, order++));
    if (route.hostnames.length === 0 || route.hostnames.includes('*')) any.push(...entries);
    for (const h of route.hostnames) {
      if (h === '*') continue;
      const host = h.toLowerCase();
      const table = host.startsWith('*.') ? wildcard : exact;
      const key = host.startsWith('*.') ? host.slice(1) : host;
      table.set(key, [...(table.get(key) ?? []), ...entries]);
    }
  }
  const sort = (list: Entry<R>[]) => list.sort(compareKeys);
  for (const list of exact.values()) sort(list);
  for (const list of wildcard.values()) sort(list);
  sort(any);
  const wildcards = [...wildcard.entries()].sort((a, b) => b[0].length - a[0].length);

  return function match(input) {
    const hit = findIn(exact.get(input.host), input);
    if (hit) return hit;
    for (const [suffix, list] of wildcards) {
      if (input.host.endsWith(suffix) && input.host.length > suffix.length) {
        const w = findIn(list, input);
        if (w) return w;
      }
    }
    return findIn(any, input);
  };
}

function findIn<R>(list: Entry<R>[] | undefined, input: MatchInput): RouteHit<R> | undefined {
  if (!list) return undefined;
  for (const e of list) if (e.test(input)) return e.hit;
  return undefined;
}

function compareKeys<R>(a: Entry<R>, b: Entry<R>): number {
  for (let i = 0; i < a.key.length; i++) if (a.key[i] !== b.key[i]) return b.key[i] - a.key[i];
  return 0;
}

function compileMatch<R>(route: R, m: RouteMatch, order: number): Entry<R> {
  const tests: Test[] = [];
  let kind = 1;
  let length = 1;
  let prefix: string | undefined;
  const path = m.path ?? { pathPrefix: '/' };
  if ('exact' in path) {
    kind = 3;
    length = path.exact.length;
    const want = path.exact;
    tests.push((i) => i.path === want);
  } else if ('regex' in path) {
    kind = 2;
    length = path.regex.length;
    const re = new RegExp(`^(?:${path.regex})$`);
    tests.push((i) => re.test(i.path));
  } else {
    const p = path.pathPrefix.length > 1 && path.pathPrefix.endsWith('/') ? path.pathPrefix.slice(0, -1) : path.pathPrefix;
    prefix = p;
    length = p.length;
    if (p !== '/') tests.push((i) => i.path === p || (i.path.startsWith(p) && i.path.charCodeAt(p.length) === 47 /* / */));
  }
  if (m.method) {
    const method = m.method;
    tests.push((i) => i.method === method);
  }
  for (const h of m.headers ?? []) {
    const name = h.name.toLowerCase();
    const ok = valueTest(h.value);
    tests.push((i) => {
      const v = i.headers[name];
      return v !== undefined && ok(Array.isArray(v) ? v.join(', ') : v);
    });
  }
  for (const q of m.query ?? []) {
    const ok = valueTest(q.value);
    tests.push((i) => {
      const v = (i.query ??= new URLSearchParams(i.search)).get(q.name);
      return v !== null && ok(v);
    });
  }
  const key = [kind, length, m.method ? 1 : 0, m.headers?.length ?? 0, m.query?.length ?? 0, -order];
  const test: Test = tests.length === 0 ? () => true : tests.length === 1 ? tests[0] : (input) => tests.every((t) => t(input));
  return { hit: Object.freeze({ route, matchedPrefix: prefix }), test, key };
}

function valueTest(v: { exact: string } | { regex: string }): (s: string) => boolean {
  if ('exact' in v) return (s) => s === v.exact;
  const re = new RegExp(`^(?:${v.regex})$`);
  return (s) => re.test(s);
}

/** Picks the listener for a host: exact host name, then the longest wildcard, then a catch-all. */
export function createHostSelector<L extends { hostname: string }>(listeners: readonly L[]): (host: string) => L | undefined {
  const exact = new Map<string, L>();
  const wildcards: Array<[string, L]> = [];
  let fallback: L | undefined;
  for (const l of listeners) {
    const h = l.hostname.toLowerCase();
    if (h === '*') fallback ??= l;
    else if (h.startsWith('*.')) wildcards.push([h.slice(1), l]);
    else if (!exact.has(h)) exact.set(h, l);
  }
  wildcards.sort((a, b) => b[0].length - a[0].length);
  if (listeners.length === 1 && fallback) return () => fallback;
  return (host) => {
    const e = exact.get(host);
    if (e) return e;
    for (const [suffix, l] of wildcards) if (host.endsWith(suffix) && host.length > suffix.length) return l;
    return fallback;
  };
}

/** Lower-cased host without port, from a Host header or an :authority. */
export function hostOf(authority: string | undefined): string {
  if (!authority) return '';
  if (authority.startsWith('[')) {
    const end = authority.indexOf(']');
    return authority.slice(0, end + 1).toLowerCase();
  }
  const colon = authority.indexOf(':');
  return (colon === -1 ? authority : authority.slice(0, colon)).toLowerCase();
}

/**
 * Removes `.` and `..` segments (RFC 3986 §5.2.4) so that a prefix route cannot be escaped with
 * `/public/../admin`; percent-encoded dots are decoded for that check only. Returns undefined for a path that
 * is not origin-form.
 */
export function normalizePath(path: string): string | undefined {
  if (path.charCodeAt(0) !== 47) return undefined;
  if (!path.includes('.') && !path.includes('%2') && !path.includes('//')) return path;
  const out: string[] = [];
  const segments = path.split('/');
  for (let i = 1; i < segments.length; i++) {
    const seg = segments[i];
    const plain = seg.replace(/%2e/gi, '.');
    if (plain === '.') continue;
    if (plain === '..') {
      out.pop();
      continue;
    }
    if (seg === '' && i < segments.length - 1) continue; // merge duplicate slashes
    out.push(seg);
  }
  const last = segments[segments.length - 1].replace(/%2e/gi, '.');
  const trailing = last === '.' || last === '..' ? '/' : '';
  const joined = `/${out.join('/')}`;
  return trailing && !joined.endsWith('/') ? joined + trailing : joined;
}
