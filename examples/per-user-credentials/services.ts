// The example's two local services, in one process:
//  - an identity provider (port 3961): signs users' tokens (POST /login {user}, a stand-in for a real login),
//    serves its keys at /jwks, and answers OAuth 2.0 Token Exchange (RFC 8693) at /token for the gateway;
//  - a "notes" MCP server (port 3962, /mcp) that acts as the user its bearer token names: a per-user token from
//    secrets/ (what backendAuth.identityMap sends), or a token the identity provider issued for its audience
//    (what backendAuth.tokenExchange sends). Anything else is 401. Its tool `whoami` says who it sees.
// Run: node_modules/.bin/node examples/per-user-credentials/services.ts
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { Server as McpServer } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';

/** Demo values; a real deployment keeps secrets out of source control. */
export const EXAMPLE = { gatewayAudience: 'portcullis-example', notesAudience: 'urn:example:notes', clientId: 'portcullis', clientSecret: 'example-exchange-secret-3f9a' } as const;

const read = async (req: IncomingMessage) => {
  let body = '';
  for await (const c of req) body += c;
  return body;
};
const json = (res: ServerResponse, status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
const listen = (server: Server, port: number) => new Promise<number>((r) => server.listen(port, '127.0.0.1', () => r((server.address() as AddressInfo).port)));

export async function startServices(options: { idpPort?: number; notesPort?: number } = {}) {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'example', alg: 'ES256', use: 'sig' };
  const keys = createLocalJWKSet({ keys: [jwk] });
  let issuer = '';
  const sign = (sub: string, aud: string, ttl: number) =>
    new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'example' }).setIssuer(issuer).setSubject(sub).setAudience(aud).setIssuedAt().setExpirationTime(`${ttl}s`).sign(privateKey);

  const idp = createServer((req, res) => {
    void (async () => {
      if (req.url === '/jwks') return json(res, 200, { keys: [jwk] });
      if (req.method === 'POST' && req.url === '/login') return json(res, 200, { access_token: await sign((JSON.parse(await read(req)) as { user: string }).user, EXAMPLE.gatewayAudience, 3600) });
      if (req.method === 'POST' && req.url === '/token') {
        const basic = Buffer.from((req.headers.authorization ?? '').replace(/^Basic /, ''), 'base64').toString();
        if (basic !== `${EXAMPLE.clientId}:${EXAMPLE.clientSecret}`) return json(res, 401, { error: 'invalid_client' });
        const form = new URLSearchParams(await read(req));
        if (form.get('audience') !== EXAMPLE.notesAudience) return json(res, 400, { error: 'invalid_target' });
        try {
          const { payload } = await jwtVerify(form.get('subject_token') ?? '', keys, { issuer, audience: EXAMPLE.gatewayAudience });
          return json(res, 200, { access_token: await sign(String(payload.sub), EXAMPLE.notesAudience, 300), issued_token_type: 'urn:ietf:params:oauth:token-type:access_token', token_type: 'Bearer', expires_in: 300 });
        } catch (err) {
          return json(res, 400, { error: 'invalid_grant', error_description: (err as Error).message });
        }
      }
      json(res, 404, { error: 'not_found' });
    })();
  });
  const idpPort = await listen(idp, options.idpPort ?? Number(process.env.IDP_PORT ?? 3961));
  issuer = `http://127.0.0.1:${idpPort}`;

  const mapped = new Map(['alice', 'bob'].map((u) => [readFileSync(new URL(`./secrets/${u}.token`, import.meta.url), 'utf8').trim(), u]));
  const userOf = async (authorization: string | undefined): Promise<string | undefined> => {
    const token = /^Bearer (\S+)$/.exec(authorization ?? '')?.[1];
    if (!token) return undefined;
    if (mapped.has(token)) return mapped.get(token);
    try {
      return String((await jwtVerify(token, keys, { issuer, audience: EXAMPLE.notesAudience })).payload.sub);
    } catch {
      return undefined;
    }
  };
  const notes = createServer((req, res) => {
    void (async () => {
      const user = await userOf(req.headers.authorization);
      if (!user) return json(res, 401, { error: 'invalid_token' });
      const body = req.method === 'POST' ? JSON.parse(await read(req)) : undefined;
      const server = new McpServer({ name: 'notes', version: '1.0.0' }, { capabilities: { tools: {} } });
      server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: [{ name: 'whoami', description: 'who the notes service sees', inputSchema: { type: 'object', properties: {} } }] }));
      server.setRequestHandler(CallToolRequestSchema, async () => ({ content: [{ type: 'text', text: `notes sees ${user}` }] }));
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      res.on('close', () => void server.close());
      await server.connect(transport);
      await transport.handleRequest(req, res, body);
    })();
  });
  const notesPort = await listen(notes, options.notesPort ?? Number(process.env.NOTES_PORT ?? 3962));
  return {
    idpUrl: issuer,
    notesUrl: `http://127.0.0.1:${notesPort}`,
    /** A user's token at the identity provider (the demo's login). */
    login: async (user: string) => ((await (await fetch(`${issuer}/login`, { method: 'POST', body: JSON.stringify({ user }) })).json()) as { access_token: string }).access_token,
    close: async () => {
      for (const s of [idp, notes]) {
        s.closeAllConnections();
        await new Promise((r) => s.close(r));
      }
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const s = await startServices();
  console.log(`identity provider ${s.idpUrl}, notes MCP server ${s.notesUrl}/mcp`);
}
