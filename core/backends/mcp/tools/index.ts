/**
 * Tool governance of an MCP route (docs/tool-governance.md): per-target overrides and filters (`overrides.ts`),
 * toolsets granted by identity (`toolsets.ts`) and the opt-in tool search (`search.ts`, `bm25.ts`). Compiled once
 * at load; a route without any of it gets no governance object, and its MCP path pays nothing.
 */
import type { McpBackendConfig } from '../../../../sdk-types/config.ts';
import type { Identity } from '../../../../sdk-types/identity.ts';
import { ErrorCodes, GatewayError } from '../../../errors.ts';
import type { McpListItem } from '../../../pipeline/index.ts';
import type { Logger } from '../../../telemetry/index.ts';
import { TargetToolRules, type ShownTool, type ToolProblem } from './overrides.ts';
import { ToolSearch } from './search.ts';
import { Toolsets } from './toolsets.ts';

export { TargetToolRules, type ShownTool, type ToolProblem } from './overrides.ts';
export { Toolsets } from './toolsets.ts';
export { ToolSearch, SEARCH_TOOL, CALL_TOOL, MAX_QUERY_CHARS } from './search.ts';
export { Bm25Index, tokenize } from './bm25.ts';
export { targetToolsSchema, toolsetsSchema, toolSearchSchema, refineToolNames } from './schema.ts';

export class ToolGovernance {
  /** Per-target rules, for targets with a `tools` block. */
  readonly rules: ReadonlyMap<string, TargetToolRules>;
  readonly toolsets?: Toolsets;
  readonly search?: ToolSearch;
  private readonly logger: Logger;
  private readonly route: string;

  constructor(config: McpBackendConfig, where: string, logger: Logger, route: string) {
    this.logger = logger;
    this.route = route;
    const rules = new Map<string, TargetToolRules>();
    config.targets.forEach((t, i) => {
      if (t.tools) rules.set(t.name, new TargetToolRules(t.name, t.tools, `${where}.targets[${i}].tools`));
    });
    this.rules = rules;
    if (config.toolsets) this.toolsets = new Toolsets(config.toolsets);
    if (config.toolSearch) this.search = new ToolSearch(config.toolSearch);
  }

  /** One target's list as clients see it; problems are logged once per load (PCL_ERR_MCP_TOOLS_CONFIG_INVALID). */
  shown(target: string, items: ReadonlyArray<Record<string, unknown>>): ShownTool[] | undefined {
    const rules = this.rules.get(target);
    if (!rules) return undefined;
    const { shown, problems } = rules.apply(items);
    for (const p of rules.fresh(problems)) {
      this.logger.warn({ route: this.route, target, code: ErrorCodes.MCP_TOOLS_CONFIG_INVALID, path: p.path }, `MCP tool settings do not fit the target's tools: ${p.path}: ${p.message}`);
    }
    return shown;
  }

  /** The caller's visible tools of a list: those of its toolsets (all, without toolsets). */
  visibleItems(identity: Identity | undefined, items: McpListItem[]): McpListItem[] {
    if (!this.toolsets) return items;
    const visible = this.toolsets.visible(identity);
    return items.filter((i) => i.kind !== 'tool' || visible(String(i.name)));
  }

  /** Whether the caller's toolsets hold a tool (by the name clients see). */
  allows(identity: Identity | undefined, name: string): boolean {
    return !this.toolsets || this.toolsets.visible(identity)(name);
  }
}

/** The route's governance, or undefined when it has none (no `tools`, `toolsets` or `toolSearch`). */
export function createToolGovernance(config: McpBackendConfig, where: string, logger: Logger, route: string): ToolGovernance | undefined {
  if (!config.toolsets && !config.toolSearch && !config.targets.some((t) => t.tools)) return undefined;
  return new ToolGovernance(config, where, logger, route);
}

/**
 * Checks the `tools` settings of targets whose tools are known at load (OpenAPI) against those tools: a load error
 * (PCL_ERR_CONFIG_INVALID) listing every problem with its config path.
 */
export function checkKnownTools(config: McpBackendConfig, where: string, lists: ReadonlyMap<string, ReadonlyArray<Record<string, unknown>>>): void {
  const problems: ToolProblem[] = [];
  config.targets.forEach((t, i) => {
    const list = lists.get(t.name);
    if (!t.tools || !list) return;
    problems.push(...new TargetToolRules(t.name, t.tools, `${where}.targets[${i}].tools`).apply(list).problems);
  });
  if (problems.length === 0) return;
  throw new GatewayError(ErrorCodes.CONFIG_INVALID, `invalid tool settings:\n${problems.map((p) => `  ${p.path}: ${p.message}`).join('\n')}`);
}
