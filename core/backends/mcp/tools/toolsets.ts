import type { Identity } from '../../../../sdk-types/identity.ts';
import type { McpToolset, McpToolsetGrant } from '../../../../sdk-types/tools.ts';
import { compileNames, type NameMatcher } from './glob.ts';

type Grant = (identity: Identity | undefined) => boolean;

const NONE: (name: string) => boolean = () => false;

/**
 * The route's toolsets, compiled once at load. `visible(identity)` is the caller's predicate over tool names as
 * clients see them: the union of the toolsets granted to it. Worked out once per identity object (an identity is
 * built once per request, or once per key for API keys), not per listed tool.
 */
export class Toolsets {
  private readonly sets: ReadonlyArray<{ name: string; grant: Grant; tools: NameMatcher }>;
  private readonly cache = new WeakMap<object, (name: string) => boolean>();
  private anonymous?: (name: string) => boolean;

  constructor(config: Readonly<Record<string, McpToolset>>) {
    this.sets = Object.entries(config).map(([name, set]) => ({ name, grant: compileGrant(set.grant), tools: compileNames(set.tools) }));
  }

  /** The names of the toolsets granted to a caller, for logs and the admin UI. */
  granted(identity: Identity | undefined): string[] {
    return this.sets.filter((s) => s.grant(identity)).map((s) => s.name);
  }

  visible(identity: Identity | undefined): (name: string) => boolean {
    if (!identity) return (this.anonymous ??= this.build(undefined));
    let hit = this.cache.get(identity);
    if (!hit) this.cache.set(identity, (hit = this.build(identity)));
    return hit;
  }

  private build(identity: Identity | undefined): (name: string) => boolean {
    const granted = this.sets.filter((s) => s.grant(identity)).map((s) => s.tools);
    if (granted.length === 0) return NONE;
    if (granted.length === 1) return granted[0];
    return (name) => granted.some((m) => m(name));
  }
}

function compileGrant(g: McpToolsetGrant): Grant {
  if (g.everyone) return () => true;
  const subjects = g.subjects && new Set(g.subjects);
  const roles = g.roles && new Set(g.roles);
  const claims = Object.entries(g.claims ?? {}).map(([path, want]) => ({ path: path.split('.'), want: new Set((Array.isArray(want) ? want : [want]).map(String)) }));
  return (identity) => {
    if (!identity || identity.kind === 'anonymous') return false;
    if (subjects && !subjects.has(identity.subject)) return false;
    if (roles && !identity.roles.some((r) => roles.has(r))) return false;
    for (const c of claims) {
      const value = claimAt(identity.claims, c.path);
      const values = Array.isArray(value) ? value : [value];
      if (!values.some((v) => (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') && c.want.has(String(v)))) return false;
    }
    return true;
  };
}

function claimAt(claims: Record<string, unknown>, path: readonly string[]): unknown {
  let at: unknown = claims;
  for (const key of path) {
    if (!at || typeof at !== 'object' || !Object.hasOwn(at, key)) return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return at;
}
