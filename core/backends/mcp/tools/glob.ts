/**
 * Tool-name globs: `*` matches any run of characters, `?` one character, everything else itself. A list of names and
 * globs compiles once (at config load) into one matcher: exact names in a set, globs in one regular expression.
 */

export interface NameMatcher {
  (name: string): boolean;
  /** The patterns it was compiled from, for messages. */
  readonly patterns: readonly string[];
}

export function isGlob(pattern: string): boolean {
  return pattern.includes('*') || pattern.includes('?');
}

function globSource(pattern: string): string {
  let out = '';
  for (const ch of pattern) {
    if (ch === '*') out += '.*';
    else if (ch === '?') out += '.';
    else out += ch.replace(/[.+^${}()|[\]\\/-]/g, '\\$&');
  }
  return out;
}

/** One matcher for a list of names and globs; an empty list matches nothing. */
export function compileNames(patterns: readonly string[]): NameMatcher {
  const exact = new Set(patterns.filter((p) => !isGlob(p)));
  const globs = patterns.filter(isGlob);
  const re = globs.length > 0 ? new RegExp(`^(?:${globs.map(globSource).join('|')})$`, 's') : undefined;
  const match = ((name: string) => exact.has(name) || (re !== undefined && re.test(name))) as NameMatcher;
  Object.defineProperty(match, 'patterns', { value: Object.freeze([...patterns]) });
  return match;
}

/** Whether a glob matches every name (`*`, `**`, `*?*`...): such an exclude leaves nothing. */
export function matchesEverything(pattern: string): boolean {
  return /^\*+$/.test(pattern);
}
