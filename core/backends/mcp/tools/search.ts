import type { McpToolSearch } from '../../../../sdk-types/tools.ts';
import { ErrorCodes } from '../../../errors.ts';
import type { McpListItem } from '../../../pipeline/index.ts';
import { RpcErrors, RpcFailure } from '../../../protocol/jsonrpc.ts';
import { Bm25Index } from './bm25.ts';
import { compileNames, type NameMatcher } from './glob.ts';

/** The gateway's search tool: ranks the caller's visible tools for a query. */
export const SEARCH_TOOL = 'search_tools';
/** The gateway's call tool: calls any visible tool by name (for clients that call only listed tools). */
export const CALL_TOOL = 'call_tool';
/** A query longer than this is refused (a search wants a few words; a megabyte is a mistake or an attack). */
export const MAX_QUERY_CHARS = 1000;
export const DEFAULT_MAX_RESULTS = 10;

/** A query with a bad shape or size: the tool result says why, with this code (the model can correct itself). */
function refused(message: string): Record<string, unknown> {
  return {
    content: [{ type: 'text', text: `${message} (${ErrorCodes.MCP_TOOL_SEARCH_INVALID})` }],
    structuredContent: { error: { code: ErrorCodes.MCP_TOOL_SEARCH_INVALID, message } },
    isError: true,
  };
}

/** Opt-in tool search of one route, compiled once at load. */
export class ToolSearch {
  readonly list: 'all' | 'pinned';
  readonly maxResults: number;
  private readonly pinned: NameMatcher;
  private readonly definitions: ReadonlyArray<Record<string, unknown>>;
  private readonly indexes = new WeakMap<readonly McpListItem[], Bm25Index>();
  /** The last index built and what it was built from: sessions listing the same tools share it. */
  private last?: { key: string; index: Bm25Index };

  constructor(config: McpToolSearch) {
    this.list = config.list ?? 'all';
    this.maxResults = config.maxResults ?? DEFAULT_MAX_RESULTS;
    this.pinned = compileNames(config.pinned ?? []);
    this.definitions = Object.freeze([
      {
        name: SEARCH_TOOL,
        description:
          'Searches the tools available to you and returns the best matches for a query, with their descriptions and input schemas. ' +
          `Use it to find a tool for a task, then call that tool by its name (directly, or through ${CALL_TOOL}).`,
        inputSchema: {
          type: 'object',
          properties: {
            query: { type: 'string', description: 'What you want to do, in a few words (e.g. "create a pull request").', maxLength: MAX_QUERY_CHARS },
            limit: { type: 'integer', description: `Most tools to return (at most ${this.maxResults}).`, minimum: 1, maximum: this.maxResults },
          },
          required: ['query'],
        },
        annotations: { title: 'Search tools', readOnlyHint: true, openWorldHint: false },
      },
      {
        name: CALL_TOOL,
        description: `Calls a tool found with ${SEARCH_TOOL}, by its name, with its arguments.`,
        inputSchema: {
          type: 'object',
          properties: {
            name: { type: 'string', description: `The tool's name, as ${SEARCH_TOOL} returned it.` },
            arguments: { type: 'object', description: "The tool's arguments, as its input schema describes them." },
          },
          required: ['name'],
        },
      },
    ]);
  }

  /** The gateway tools' input schemas by name (for the 2026-07-28 `Mcp-Param-*` check, which needs every tool's). */
  schemas(): Array<[string, unknown]> {
    return this.definitions.map((d) => [String(d.name), d.inputSchema]);
  }

  /** Whether a name is one of the gateway's own tools. */
  static isGatewayTool(name: string): boolean {
    return name === SEARCH_TOOL || name === CALL_TOOL;
  }

  /** The `tools/list` answer: the gateway's tools first, then every visible tool or only the pinned ones. */
  listed(items: readonly McpListItem[]): Array<Record<string, unknown>> {
    const tools = this.list === 'pinned' ? items.filter((i) => this.pinned(String(i.name))) : items;
    return [...this.definitions, ...tools.filter((i) => !ToolSearch.isGatewayTool(String(i.name))).map((i) => i.item)];
  }

  /** The params of the call a `call_tool` call stands for. */
  static unwrapCall(params: Record<string, unknown>): Record<string, unknown> {
    const args = (params.arguments ?? {}) as Record<string, unknown>;
    const name = args.name;
    if (typeof name !== 'string' || name === '') throw new RpcFailure(RpcErrors.INVALID_PARAMS, `${CALL_TOOL}: arguments.name must be the name of a tool (as ${SEARCH_TOOL} returns it)`, { code: ErrorCodes.MCP_TOOL_SEARCH_INVALID });
    if (ToolSearch.isGatewayTool(name)) throw new RpcFailure(RpcErrors.INVALID_PARAMS, `${CALL_TOOL}: call ${name} directly, not through ${CALL_TOOL}`, { code: ErrorCodes.MCP_TOOL_SEARCH_INVALID });
    const inner = args.arguments;
    if (inner !== undefined && (typeof inner !== 'object' || inner === null || Array.isArray(inner))) throw new RpcFailure(RpcErrors.INVALID_PARAMS, `${CALL_TOOL}: arguments.arguments must be an object`, { code: ErrorCodes.MCP_TOOL_SEARCH_INVALID });
    const out: Record<string, unknown> = { ...params, name };
    if (inner === undefined) delete out.arguments;
    else out.arguments = inner;
    return out;
  }

  /**
   * Answers a `search_tools` call: the best matches among `items` that `visible` lets the caller see (checked best
   * first, until enough are found, so a search over a thousand tools asks the policies about a few).
   */
  async search(args: Record<string, unknown> | undefined, items: readonly McpListItem[], visible: (item: McpListItem) => Promise<boolean>): Promise<Record<string, unknown>> {
    const query = args?.query;
    if (typeof query !== 'string') return refused(`${SEARCH_TOOL}: "query" must be a string, got ${query === undefined ? 'nothing' : Array.isArray(query) ? 'an array' : typeof query}`);
    if (query.length > MAX_QUERY_CHARS) return refused(`${SEARCH_TOOL}: the query is ${query.length} characters long; at most ${MAX_QUERY_CHARS} are accepted: send a few words`);
    if (query.trim() === '') return refused(`${SEARCH_TOOL}: the query is empty: say what you want to do in a few words`);
    const limit = args?.limit === undefined ? this.maxResults : Number(args.limit);
    if (!Number.isInteger(limit) || limit < 1) return refused(`${SEARCH_TOOL}: "limit" must be a whole number from 1 to ${this.maxResults}`);
    const want = Math.min(limit, this.maxResults);
    const tools = items.filter((i) => !ToolSearch.isGatewayTool(String(i.name)));
    let index = this.indexes.get(items);
    if (!index) {
      const docs = tools.map((i) => ({ name: String(i.name), description: typeof i.item.description === 'string' ? i.item.description : undefined, params: paramNames(i.item) }));
      // A new session's list is a new array of the same tools: a key of their text finds the index already built.
      const key = docs.map((d) => `${d.name}\u0000${d.description ?? ''}\u0000${d.params.join(',')}`).join('\u0001');
      index = this.last?.key === key ? this.last.index : new Bm25Index(docs);
      this.last = { key, index };
      this.indexes.set(items, index);
    }
    const found: McpListItem[] = [];
    for (const { doc } of index.rank(query)) {
      if (found.length >= want) break;
      if (await visible(tools[doc])) found.push(tools[doc]);
    }
    const shown = found.map((i) => ({ name: i.item.name, ...(typeof i.item.description === 'string' ? { description: brief(i.item.description) } : {}), inputSchema: i.item.inputSchema }));
    const text = shown.length === 0 ? `No tool matches "${query}". Try other words.` : JSON.stringify({ tools: shown });
    return { content: [{ type: 'text', text }], structuredContent: { tools: shown } };
  }
}

/** A description cut to what a choice needs (long API descriptions run to pages): at most this many characters. */
const MAX_RESULT_DESCRIPTION_CHARS = 400;

function brief(description: string): string {
  return description.length <= MAX_RESULT_DESCRIPTION_CHARS ? description : `${description.slice(0, MAX_RESULT_DESCRIPTION_CHARS - 1)}…`;
}

function paramNames(tool: Record<string, unknown>): string[] {
  const props = (tool.inputSchema as { properties?: unknown } | undefined)?.properties;
  return props && typeof props === 'object' ? Object.keys(props) : [];
}
