/**
 * The merged view of every target's tools, prompts, resources and templates: names as clients see them, and the
 * way back from a client-visible name or URI to the owning target.
 */

import type { McpListItem } from '../../pipeline/index.ts';
import type { ToolGovernance } from './tools/index.ts';

export type ListKind = 'tools' | 'prompts' | 'resources' | 'resourceTemplates';

export const LIST_METHODS: Record<string, ListKind> = {
  'tools/list': 'tools',
  'prompts/list': 'prompts',
  'resources/list': 'resources',
  'resources/templates/list': 'resourceTemplates',
};

const URI_SCHEME = 'portcullis://';

export interface Owned {
  target: string;
  /** Name or URI as the target knows it. */
  original: string;
}

export interface MergeResult {
  /** `original`: the item's name or URI as its target knows it. */
  items: Array<{ target: string; item: Record<string, unknown>; original: string }>;
  collisions: Array<{ name: string; targets: string[] }>;
}

const sortedByLength = new WeakMap<readonly string[], readonly string[]>();

/**
 * Target names, longest first (so that "a_b" wins over "a" for "a_b_x"), sorted once per list: lists are built at
 * config load and resolving a prefixed name or task id is per call.
 */
export function longestFirst(targets: readonly string[]): readonly string[] {
  let sorted = sortedByLength.get(targets);
  if (!sorted) {
    sorted = [...targets].sort((a, b) => b.length - a.length);
    sortedByLength.set(targets, sorted);
  }
  return sorted;
}

/** Naming rules of one session: with a prefix every name and URI carries its target; without, names must be unique. */
export class Catalog {
  readonly prefix: boolean;
  private readonly names: Record<'tools' | 'prompts', Map<string, Owned>> = { tools: new Map(), prompts: new Map() };
  private readonly uris = new Map<string, Owned>();
  private readonly templates = new Map<string, Array<{ target: string; template: string; pattern: RegExp }>>();
  private readonly targets: readonly string[];
  /** Longest target name first, so that target "a_b" wins over target "a" for "a_b_tool" (sorted once). */
  private readonly byLength: readonly string[];
  /** Input schemas of the listed tools, by client-visible name (for 2026-07-28 `Mcp-Param-*` headers). */
  readonly toolSchemas = new Map<string, unknown>();
  /**
   * Whether `toolSchemas` holds a whole tools list that no target has said is stale since (`tools/list_changed`):
   * a call naming a tool that is not in it then needs no new list to know the tool is unknown.
   */
  toolsCurrent = false;

  /** The route's tool governance (renames, filters), when it has any. */
  private readonly tools?: ToolGovernance;
  /** The whole merged tool list of the last full `tools/list` (what `search_tools` searches), set by dispatch. */
  listedTools?: readonly McpListItem[];

  constructor(targets: readonly string[], prefix: boolean, tools?: ToolGovernance) {
    this.targets = targets;
    this.byLength = longestFirst(targets);
    this.prefix = prefix;
    this.tools = tools;
    this.addGatewaySchemas();
  }

  /** The gateway's own tools are known without listing: a call of one never lists the targets to find its schema. */
  private addGatewaySchemas(): void {
    for (const [name, schema] of this.tools?.search?.schemas() ?? []) this.toolSchemas.set(name, schema);
  }

  name(target: string, name: string): string {
    return this.prefix ? `${target}_${name}` : name;
  }

  uri(target: string, uri: string): string {
    return this.prefix ? `${URI_SCHEME}${target}/${uri}` : uri;
  }

  /** The target owning a client-visible tool or prompt name, from the last list or by its prefix. */
  resolveName(kind: 'tools' | 'prompts', clientName: string): Owned | undefined {
    const hit = this.names[kind].get(clientName);
    if (hit) return hit;
    let owned: Owned | undefined;
    if (!this.prefix) owned = this.targets.length === 1 ? { target: this.targets[0], original: clientName } : undefined;
    else {
      const target = this.byLength.find((t) => clientName.startsWith(`${t}_`));
      owned = target ? { target, original: clientName.slice(target.length + 1) } : undefined;
    }
    // A tool not (yet) listed: its name as clients see it back to the target's, unless hidden or renamed away.
    const rules = owned && kind === 'tools' ? this.tools?.rules.get(owned.target) : undefined;
    if (!rules || !owned) return owned;
    const original = rules.upstreamName(owned.original);
    return original === undefined ? undefined : { target: owned.target, original };
  }

  resolveUri(clientUri: string): Owned | undefined {
    if (this.prefix) {
      if (!clientUri.startsWith(URI_SCHEME)) return undefined;
      const rest = clientUri.slice(URI_SCHEME.length);
      const slash = rest.indexOf('/');
      if (slash === -1) return undefined;
      const target = rest.slice(0, slash);
      return this.targets.includes(target) ? { target, original: rest.slice(slash + 1) } : undefined;
    }
    if (this.targets.length === 1) return { target: this.targets[0], original: clientUri };
    const hit = this.uris.get(clientUri);
    if (hit) return hit;
    for (const [, list] of this.templates) {
      const match = list.find((t) => t.pattern.test(clientUri));
      if (match) return { target: match.target, original: clientUri };
    }
    return undefined;
  }

  /**
   * Merges per-target list results, renaming items and remembering their owners. A `partial` merge (one page of a
   * paged list) adds to what is remembered instead of replacing it.
   */
  merge(kind: ListKind, perTarget: ReadonlyArray<{ target: string; items: Array<Record<string, unknown>> }>, partial = false): MergeResult {
    const out: MergeResult = { items: [], collisions: [] };
    const key = kind === 'resources' ? 'uri' : kind === 'resourceTemplates' ? 'uriTemplate' : 'name';
    const owners = new Map<string, string[]>();
    const renamed: Array<{ target: string; clientKey: string; original: string; item: Record<string, unknown> }> = [];
    for (const { target, items } of perTarget) {
      // Tool governance first: filtered, renamed, schemas rewritten; `original` stays the target's own name.
      const shown = kind === 'tools' ? this.tools?.shown(target, items) : undefined;
      for (const { item, original } of shown ?? items.map((item) => ({ item, original: String(item[key] ?? '') }))) {
        const base = shown ? String(item.name ?? '') : original;
        const clientKey = key === 'name' ? this.name(target, base) : this.uri(target, base);
        owners.set(clientKey, [...(owners.get(clientKey) ?? []), target]);
        renamed.push({ target, clientKey, original, item: clientKey === base && base === item[key] ? item : { ...item, [key]: clientKey } });
      }
    }
    if (!partial) {
      if (kind === 'tools' || kind === 'prompts') this.names[kind].clear();
      if (kind === 'tools') {
        this.toolSchemas.clear();
        this.addGatewaySchemas();
        this.toolsCurrent = true;
      }
      if (kind === 'resources') this.uris.clear();
      if (kind === 'resourceTemplates') this.templates.clear();
    }
    for (const r of renamed) {
      const who = owners.get(r.clientKey)!;
      if (new Set(who).size > 1) {
        if (!out.collisions.some((c) => c.name === r.clientKey)) out.collisions.push({ name: r.clientKey, targets: [...new Set(who)] });
        continue;
      }
      out.items.push({ target: r.target, item: r.item, original: r.original });
      if (kind === 'tools' || kind === 'prompts') this.names[kind].set(r.clientKey, { target: r.target, original: r.original });
      if (kind === 'tools') this.toolSchemas.set(r.clientKey, r.item.inputSchema);
      else if (kind === 'resources') this.uris.set(r.clientKey, { target: r.target, original: r.original });
      else {
        // A paged list (partial) merges the same page again on every request for it: a template is kept once.
        const list = this.templates.get(r.target) ?? [];
        if (!list.some((t) => t.template === r.original)) this.templates.set(r.target, [...list, { target: r.target, template: r.original, pattern: templatePattern(r.original) }]);
      }
    }
    return out;
  }

  /** Rewrites URIs inside content blocks (tool results, prompt messages, read results) to their client form. */
  rewriteContent(target: string, value: unknown): unknown {
    if (!this.prefix) return value;
    if (Array.isArray(value)) return value.map((v) => this.rewriteContent(target, v));
    if (!value || typeof value !== 'object') return value;
    const obj = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj)) {
      if (k === 'uri' && typeof v === 'string') out[k] = this.uri(target, v);
      else if (k === 'content' || k === 'contents' || k === 'resource' || k === 'messages') out[k] = this.rewriteContent(target, v);
      else out[k] = v;
    }
    return out;
  }
}

/** RFC 6570 template to a whole-URI matcher: every expression matches any run of characters. */
function templatePattern(template: string): RegExp {
  const parts = template.split(/\{[^}]*\}/).map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('.*')}$`);
}
