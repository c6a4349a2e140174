/**
 * Resource URIs as policies see them. A rule like "resources under file:///data/public/" must not be climbed out of
 * with dot segments or their percent-encoded forms, exactly as HTTP paths are normalized before routing. So a
 * resource URI is normalized before authorization and before it is forwarded:
 * - `.` and `..` segments are removed (RFC 3986 §5.2.4), `%2e` counting as `.`;
 * - a `..` that would climb above the start of the path is refused, not clamped: the client meant to escape;
 * - an encoded slash or backslash (`%2f`, `%5c`), a double-encoded dot, slash or backslash (`%252e`, ...), a raw
 *   backslash or a control character is refused: a server may decode it into a separator after the policy decided.
 * Query and fragment are kept as they are. A URI that needed no change is returned as the same string.
 */

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/;
const UNSAFE = /%(2f|5c)|%25(2e|2f|5c)|\\|[\u0000-\u001f\u007f]/i;

/** The normalized URI, or undefined when it cannot be normalized safely (the caller refuses it). */
export function normalizeResourceUri(uri: string): string | undefined {
  const scheme = SCHEME.exec(uri);
  const head = scheme ? scheme[0] : '';
  let rest = uri.slice(head.length);
  let authority = '';
  if (rest.startsWith('//')) {
    const end = firstOf(rest, 2, '/?#');
    authority = rest.slice(0, end);
    rest = rest.slice(end);
  }
  const end = firstOf(rest, 0, '?#');
  const path = rest.slice(0, end);
  const tail = rest.slice(end);
  if (UNSAFE.test(authority) || UNSAFE.test(path)) return undefined;
  if (!path.includes('.') && !/%2e/i.test(path)) return uri;
  const normalized = removeDotSegments(path);
  if (normalized === undefined) return undefined;
  return normalized === path ? uri : `${head}${authority}${normalized}${tail}`;
}

function firstOf(s: string, from: number, chars: string): number {
  for (let i = from; i < s.length; i++) if (chars.includes(s[i])) return i;
  return s.length;
}

function removeDotSegments(path: string): string | undefined {
  const absolute = path.startsWith('/');
  const segments = (absolute ? path.slice(1) : path).split('/');
  const out: string[] = [];
  let trailing = false;
  for (let i = 0; i < segments.length; i++) {
    const plain = segments[i].replace(/%2e/gi, '.');
    const last = i === segments.length - 1;
    if (plain === '.' || plain === '..') {
      if (plain === '..') {
        if (out.length === 0) return undefined;
        out.pop();
      }
      if (last) trailing = true;
      continue;
    }
    out.push(segments[i]);
  }
  const joined = out.join('/') + (trailing && out.length > 0 ? '/' : '');
  return absolute ? `/${joined}` : joined;
}
