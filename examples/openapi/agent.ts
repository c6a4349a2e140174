// An agent of examples/openapi: it connects to the gateway over MCP, lists the tools the library's REST API became,
// and calls some. `node_modules/.bin/node examples/openapi/agent.ts [http://127.0.0.1:3700/mcp]`
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

type Result = { content: Array<{ type: string; text?: string }>; structuredContent?: unknown; isError?: boolean };

/** Runs the agent's session and returns what it printed, line by line. */
export async function runAgent(url: string, print: (line: string) => void = console.log): Promise<string[]> {
  const lines: string[] = [];
  const say = (line: string) => {
    lines.push(line);
    print(line);
  };
  const client = new Client({ name: 'library-agent', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  try {
    const { tools } = await client.listTools();
    say(`tools: ${tools.map((t) => t.name).join(', ')}`);
    // Tools by operation id, as the gateway names them: `library_listBooks` under gateway.config.ts (prefixMode
    // 'always'), `listBooks` under config.yaml (agentgateway's naming for one target).
    const toolOf = (operation: string) => tools.find((t) => t.name === operation || t.name.endsWith(`_${operation}`))?.name ?? operation;
    const call = async (operation: string, args: Record<string, unknown>) => {
      const name = toolOf(operation);
      try {
        const r = (await client.callTool({ name, arguments: args })) as Result;
        const body = r.structuredContent !== undefined ? JSON.stringify(r.structuredContent) : (r.content[0]?.text ?? '');
        say(`${name} ${JSON.stringify(args)} -> ${r.isError ? 'error: ' : ''}${body}`);
      } catch (err) {
        say(`${name} ${JSON.stringify(args)} -> refused: ${(err as Error).message}`);
      }
    };
    await call('listBooks', { genre: 'fiction' });
    await call('getBook', { isbn: '978-0-13-468599-1' });
    await call('addBook', { body: { isbn: '978-1-59327-584-6', title: 'The Linux Command Line', author: 'William Shotts', genre: 'science' } });
    await call('addBook', { body: { isbn: '978-1-59327-584-6', title: 'The Linux Command Line', author: 'William Shotts' } });
    await call('getBook', { isbn: 'not-an-isbn' });
    await call('addBook', { body: { isbn: '978-0-00-000000-0', title: 'Untitled', author: 'Anonymous' } });
  } finally {
    await client.close();
  }
  return lines;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await runAgent(process.argv[2] ?? 'http://127.0.0.1:3700/mcp');
}
