import type { McpTargetTools, McpToolOverride } from '../../../../sdk-types/tools.ts';
import { compileNames, type NameMatcher } from './glob.ts';

/** Something wrong with a target's `tools` settings against the tools it lists, with the setting's config path. */
export interface ToolProblem {
  path: string;
  message: string;
}

/** A listed tool as clients see it, with its name as the target knows it. */
export interface ShownTool {
  item: Record<string, unknown>;
  original: string;
}

interface CompiledOverride {
  readonly name?: string;
  readonly description?: string;
  readonly annotations?: Readonly<Record<string, unknown>>;
  readonly fixed: ReadonlyArray<[string, unknown]>;
  readonly defaults: ReadonlyArray<[string, unknown]>;
}

const MAX_LISTED_NAMES = 12;

/**
 * One target's `tools` settings, compiled once at load: which tools are shown, under which name and schema, and
 * the arguments the gateway fixes or defaults on calls. Shared by every session of the route.
 */
export class TargetToolRules {
  readonly target: string;
  /** Config path of the target's `tools` block, for messages. */
  readonly where: string;
  private readonly include?: NameMatcher;
  private readonly exclude?: NameMatcher;
  private readonly overrides = new Map<string, CompiledOverride>();
  /** Exposed name → the target's name, for renamed tools. */
  private readonly byExposed = new Map<string, string>();
  /** Tools found unusable against the target's own list (a fixed argument it does not have): hidden, refused. */
  private readonly broken = new Set<string>();
  /** Problems already reported, so that a list served to every session warns once. */
  private readonly reported = new Set<string>();
  /** Shown forms of tool objects already rewritten (an OpenAPI target lists the same objects every time). */
  private readonly shown = new WeakMap<object, ShownTool | null>();

  constructor(target: string, config: McpTargetTools, where: string) {
    this.target = target;
    this.where = where;
    if (config.include) this.include = compileNames(config.include);
    if (config.exclude && config.exclude.length > 0) this.exclude = compileNames(config.exclude);
    for (const [name, o] of Object.entries(config.overrides ?? {})) {
      this.overrides.set(name, compileOverride(o));
      if (o.name !== undefined && o.name !== name) this.byExposed.set(o.name, name);
    }
  }

  /** Whether include/exclude let the target's tool `name` through. */
  passes(name: string): boolean {
    if (this.include && !this.include(name)) return false;
    return !this.exclude?.(name);
  }

  /**
   * The target's name of a tool from the name clients see (without prefix), or undefined when no such tool is
   * shown: excluded, broken, or renamed away (a renamed tool's own name is not callable).
   */
  upstreamName(exposed: string): string | undefined {
    const renamed = this.byExposed.get(exposed);
    const original = renamed ?? exposed;
    if (renamed === undefined) {
      const o = this.overrides.get(exposed);
      if (o?.name !== undefined && o.name !== exposed) return undefined;
    }
    if (!this.passes(original) || this.broken.has(original)) return undefined;
    return original;
  }

  /** The arguments forwarded for a call of the target's tool `original`: fixed ones set, defaults filled in. */
  callArguments(original: string, args: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
    const o = this.overrides.get(original);
    if (!o || (o.fixed.length === 0 && o.defaults.length === 0)) return args;
    const out: Record<string, unknown> = { ...args };
    for (const [k, v] of o.defaults) if (out[k] === undefined) out[k] = v;
    for (const [k, v] of o.fixed) out[k] = v;
    return out;
  }

  /**
   * The target's list as clients see it: filtered, renamed, schemas rewritten. A tool an override does not fit (a
   * fixed or default argument its schema lacks) is left out; so are tools that would share one name. What is wrong
   * is returned as problems with their config paths (errors at load for OpenAPI targets, warnings at run time).
   */
  apply(items: ReadonlyArray<Record<string, unknown>>): { shown: ShownTool[]; problems: ToolProblem[] } {
    const problems: ToolProblem[] = [];
    const shown: ShownTool[] = [];
    const present = new Set<string>();
    let passed = 0;
    for (const item of items) {
      const original = String(item.name ?? '');
      present.add(original);
      if (!this.passes(original)) continue;
      passed++;
      const cached = this.shown.get(item);
      if (cached !== undefined) {
        if (cached) shown.push(cached);
        continue;
      }
      const o = this.overrides.get(original);
      const result = o ? this.rewrite(item, original, o, problems) : { item, original };
      this.shown.set(item, result);
      if (result) shown.push(result);
    }
    for (const name of this.overrides.keys()) {
      if (!present.has(name)) problems.push({ path: `${this.where}.overrides.${name}`, message: `target "${this.target}" lists no tool "${name}"${nearNames(present)}` });
    }
    if (items.length > 0 && passed === 0 && (this.include || this.exclude)) {
      problems.push({ path: this.where, message: `include/exclude leave none of the ${items.length} tools of target "${this.target}"${nearNames(present)}` });
    }
    // Two tools shown under one name: neither is shown (a client could not tell which one it calls).
    const byName = new Map<string, ShownTool[]>();
    for (const s of shown) byName.set(String(s.item.name), [...(byName.get(String(s.item.name)) ?? []), s]);
    const out = shown.filter((s) => {
      const same = byName.get(String(s.item.name))!;
      if (same.length === 1) return true;
      this.broken.add(s.original);
      if (same[0] === s) {
        const originals = same.map((x) => `"${x.original}"`).join(' and ');
        const renamed = same.find((x) => x.original !== x.item.name) ?? same[0];
        problems.push({ path: `${this.where}.overrides.${renamed.original}.name`, message: `tools ${originals} of target "${this.target}" would both be shown as "${String(s.item.name)}": both are left out (give them different names)` });
      }
      return false;
    });
    return { shown: out, problems };
  }

  /** Problems not reported before (each is reported once per load). */
  fresh(problems: readonly ToolProblem[]): ToolProblem[] {
    return problems.filter((p) => {
      const key = `${p.path} ${p.message}`;
      if (this.reported.has(key)) return false;
      this.reported.add(key);
      return true;
    });
  }

  private rewrite(item: Record<string, unknown>, original: string, o: CompiledOverride, problems: ToolProblem[]): ShownTool | null {
    const schema = (item.inputSchema ?? {}) as Record<string, unknown>;
    const props = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
    let fits = true;
    for (const [kind, list] of [['fixedArguments', o.fixed], ['defaultArguments', o.defaults]] as const) {
      for (const [arg] of list) {
        if (Object.hasOwn(props, arg)) continue;
        fits = false;
        const known = Object.keys(props);
        problems.push({
          path: `${this.where}.overrides.${original}.${kind}.${arg}`,
          message: `tool "${original}" of target "${this.target}" has no argument "${arg}" (its arguments: ${known.length === 0 ? 'none' : known.slice(0, MAX_LISTED_NAMES).join(', ')}): the tool is left out`,
        });
      }
    }
    if (!fits) {
      this.broken.add(original);
      return null;
    }
    const out: Record<string, unknown> = { ...item };
    if (o.name !== undefined) out.name = o.name;
    if (o.description !== undefined) out.description = o.description;
    if (o.annotations) out.annotations = { ...(item.annotations as Record<string, unknown> | undefined), ...o.annotations };
    if (o.fixed.length > 0 || o.defaults.length > 0) {
      const nextProps: Record<string, unknown> = { ...props };
      const drop = new Set<string>();
      for (const [k] of o.fixed) {
        delete nextProps[k];
        drop.add(k);
      }
      for (const [k, v] of o.defaults) {
        nextProps[k] = { ...props[k], default: v };
        drop.add(k);
      }
      const required = Array.isArray(schema.required) ? (schema.required as unknown[]).filter((r) => !drop.has(String(r))) : undefined;
      const nextSchema: Record<string, unknown> = { ...schema, properties: nextProps };
      if (required) nextSchema.required = required;
      out.inputSchema = nextSchema;
    }
    return { item: out, original };
  }
}

function compileOverride(o: McpToolOverride): CompiledOverride {
  return {
    name: o.name,
    description: o.description,
    annotations: o.annotations,
    fixed: Object.entries(o.fixedArguments ?? {}),
    defaults: Object.entries(o.defaultArguments ?? {}),
  };
}

function nearNames(present: ReadonlySet<string>): string {
  if (present.size === 0) return '';
  const names = [...present].slice(0, MAX_LISTED_NAMES);
  return ` (it lists ${names.map((n) => `"${n}"`).join(', ')}${present.size > names.length ? `, and ${present.size - names.length} more` : ''})`;
}
