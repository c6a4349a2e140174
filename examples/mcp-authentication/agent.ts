// An agent of examples/mcp-authentication: it gets a token from the authorization server by client credentials
// (discovered from the gateway's 401, as the MCP authorization spec says), then lists and calls tools.
//   node_modules/.bin/node examples/mcp-authentication/agent.ts [readonly-agent|data-ingest-agent] [http://127.0.0.1:3200/mcp]
// `--token` prints a token for that agent instead, to paste into another client (the Inspector's --header).
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ClientCredentialsProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { DEMO_AGENTS } from './auth-server.ts';

type Result = { content: Array<{ type: string; text?: string }>; isError?: boolean };

/** Runs one agent's session and returns what it printed, line by line. */
export async function runAgent(url: string, clientId = 'readonly-agent', issuer = process.env.ISSUER ?? 'http://127.0.0.1:3300', print: (line: string) => void = console.log): Promise<string[]> {
  const agent = DEMO_AGENTS.find((a) => a.clientId === clientId);
  if (!agent) throw new Error(`unknown agent "${clientId}" (one of: ${DEMO_AGENTS.map((a) => a.clientId).join(', ')})`);
  const lines: string[] = [];
  const say = (line: string) => {
    lines.push(line);
    print(line);
  };
  const provider = new ClientCredentialsProvider({ clientId: agent.clientId, clientSecret: agent.clientSecret, scope: agent.scope, expectedIssuer: issuer });
  const client = new Client({ name: agent.clientId, version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(url), { authProvider: provider });
  await client.connect(transport);
  try {
    say(`${agent.clientId} (${agent.scope}) tools: ${(await client.listTools()).tools.map((t) => t.name).sort().join(', ')}`);
    await client.setLoggingLevel('info');
    say('logging/setLevel info -> ok');
    const call = async (name: string, args: Record<string, unknown>) => {
      try {
        const r = (await client.callTool({ name, arguments: args })) as Result;
        say(`${name} -> ${r.isError ? 'error: ' : ''}${r.content.find((c) => c.type === 'text')?.text ?? `[${r.content.map((c) => c.type).join(', ')}]`}`);
      } catch (err) {
        say(`${name} -> refused: ${(err as Error).message}`);
      }
    };
    await call('echo', { message: 'hello through the gateway' });
    await call('gzip-file-as-resource', { name: 'notes.txt.gz', data: 'data:text/plain;base64,aGVsbG8=', outputType: 'resourceLink' });
    // A client that is done ends its session: the gateway stops the server process it held at once.
    await transport.terminateSession();
  } finally {
    await client.close();
  }
  return lines;
}

/** A token for the agent, from the authorization server's token endpoint (client credentials, RFC 8707 resource). */
export async function tokenFor(issuer: string, resource: string, clientId = 'readonly-agent'): Promise<string> {
  const agent = DEMO_AGENTS.find((a) => a.clientId === clientId);
  if (!agent) throw new Error(`unknown agent "${clientId}"`);
  const meta = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as { token_endpoint: string };
  const res = await fetch(meta.token_endpoint, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${agent.clientId}:${agent.clientSecret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: agent.scope, resource }),
  });
  const body = (await res.json()) as { access_token?: string; error?: string; error_description?: string };
  if (!body.access_token) throw new Error(`no token from ${meta.token_endpoint}: ${body.error}: ${body.error_description}`);
  return body.access_token;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const wantToken = args.includes('--token');
  const [clientId = 'readonly-agent', url = 'http://127.0.0.1:3200/mcp'] = args.filter((a) => a !== '--token');
  if (wantToken) console.log(await tokenFor(process.env.ISSUER ?? 'http://127.0.0.1:3300', url, clientId));
  else await runAgent(url, clientId);
}
