import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A small A2A v0.3 agent over JSON-RPC on a loopback port: its card at the well-known path (under any prefix, so
 * it can sit behind a gateway route), `message/send` answering "echo: <text>", and `message/stream` sending a
 * task, two status updates and an artifact as SSE events 30 ms apart.
 */
export async function startEchoAgent(): Promise<{ host: string; close(): Promise<void> }> {
  let port = 0;
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path.endsWith('/.well-known/agent-card.json')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          protocolVersion: '0.3.0',
          name: 'echo-agent',
          description: 'Says back what it is told',
          url: `http://127.0.0.1:${port}/`,
          version: '1.0.0',
          capabilities: { streaming: true },
          defaultInputModes: ['text/plain'],
          defaultOutputModes: ['text/plain'],
          skills: [{ id: 'echo', name: 'Echo', description: 'Echoes the message', tags: ['test'] }],
        }),
      );
      return;
    }
    if (req.method !== 'POST') {
      res.writeHead(404).end();
      return;
    }
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      let rpc: { id?: unknown; method?: string; params?: { message?: { parts?: Array<{ text?: string }>; contextId?: string } } };
      try {
        rpc = JSON.parse(body);
      } catch {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } }));
        return;
      }
      const text = rpc.params?.message?.parts?.map((p) => p.text ?? '').join('') ?? '';
      const contextId = rpc.params?.message?.contextId ?? randomUUID();
      const reply = (result: unknown) => ({ jsonrpc: '2.0', id: rpc.id, result });
      if (rpc.method === 'message/send') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(reply({ kind: 'message', role: 'agent', messageId: randomUUID(), contextId, parts: [{ kind: 'text', text: `echo: ${text}` }] })));
        return;
      }
      if (rpc.method === 'message/stream') {
        const taskId = randomUUID();
        const events = [
          { kind: 'task', id: taskId, contextId, status: { state: 'submitted' } },
          { kind: 'status-update', taskId, contextId, status: { state: 'working' }, final: false },
          { kind: 'artifact-update', taskId, contextId, artifact: { artifactId: 'a1', parts: [{ kind: 'text', text: `echo: ${text}` }] } },
          { kind: 'status-update', taskId, contextId, status: { state: 'completed' }, final: true },
        ];
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
        let i = 0;
        const next = () => {
          if (i === events.length) return res.end();
          res.write(`data: ${JSON.stringify(reply(events[i++]))}\n\n`);
          setTimeout(next, 30);
        };
        next();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ jsonrpc: '2.0', id: rpc.id ?? null, error: { code: -32601, message: `Method not found: ${rpc.method}` } }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
