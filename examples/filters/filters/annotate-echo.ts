// A custom filter that rewrites a tool result: the `echo` tool's text gets a notice appended, and calls with
// an empty message are refused before they reach the MCP server.
import { defineFilter, type JsonValue } from 'portcullis';

interface TextContent {
  type: string;
  text?: string;
}

export default defineFilter<{ notice: string }>({
  name: 'annotate-echo',
  onMcpRequest(ctx) {
    if (ctx.mcp.tool === 'echo' && !ctx.mcp.arguments?.message) return { action: 'deny', message: 'echo needs a message' };
  },
  onMcpResponse(ctx) {
    if (ctx.mcp.tool !== 'echo') return;
    const result = ctx.result as { content?: TextContent[] };
    const content = (result.content ?? []).map((c) => (c.type === 'text' ? { ...c, text: `${c.text} ${ctx.config.notice}` } : c));
    return { action: 'continue', result: { ...result, content } as unknown as JsonValue };
  },
});
