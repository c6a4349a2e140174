// Two small A2A agents for this example, built with @a2a-js/sdk on express: `research` (port 3601) and `ops`
// (port 3602). Run them with `node_modules/.bin/node examples/a2a/agents.ts`, then start the gateway (see README.md).
// Each echoes what it is sent; a message starting with "stream" is answered as a task with three status updates.
import type { Server } from 'node:http';
import express from 'express';
import { AgentEvent, DefaultRequestHandler, InMemoryTaskStore, type AgentExecutor } from '@a2a-js/sdk/server';
import { agentCardHandler, jsonRpcHandler, restHandler, UserBuilder } from '@a2a-js/sdk/server/express';
import { Role, TaskState, type AgentCard, type Message } from '@a2a-js/sdk';

export const AGENTS = [
  { name: 'research', port: 3601, skills: ['summarize', 'search', 'delete-notes'] },
  { name: 'ops', port: 3602, skills: ['status', 'deploy'] },
] as const;

function say(contextId: string, taskId: string, text: string): Message {
  return { messageId: crypto.randomUUID(), contextId, taskId, role: Role.ROLE_AGENT, parts: [{ content: { $case: 'text', value: text }, metadata: undefined, filename: '', mediaType: 'text/plain' }], metadata: undefined, extensions: [], referenceTaskIds: [] };
}

function executor(name: string): AgentExecutor {
  return {
    async execute(ctx, bus) {
      const input = (ctx.userMessage.parts ?? []).map((p) => (p.content?.$case === 'text' ? p.content.value : '')).join('');
      if (!input.startsWith('stream')) {
        bus.publish(AgentEvent.message(say(ctx.contextId, ctx.taskId, `${name}: ${input}`)));
        return bus.finished();
      }
      const now = () => new Date().toISOString();
      bus.publish(AgentEvent.task({ id: ctx.taskId, contextId: ctx.contextId, status: { state: TaskState.TASK_STATE_SUBMITTED, message: undefined, timestamp: now() }, artifacts: [], history: [ctx.userMessage], metadata: undefined }));
      for (let i = 1; i <= 3; i++) {
        await new Promise((r) => setTimeout(r, 300));
        const state = i === 3 ? TaskState.TASK_STATE_COMPLETED : TaskState.TASK_STATE_WORKING;
        bus.publish(AgentEvent.statusUpdate({ taskId: ctx.taskId, contextId: ctx.contextId, status: { state, message: say(ctx.contextId, ctx.taskId, `${name} step ${i}/3`), timestamp: now() }, metadata: undefined }));
      }
      bus.finished();
    },
    async cancelTask() {},
  };
}

/** Starts the agents on their ports (tests pass `ports`, e.g. 0 for any free one); `ports` in the result are the actual ones. */
export async function startAgents(ports: Partial<Record<string, number>> = {}): Promise<{ close(): Promise<void>; ports: Record<string, number> }> {
  const servers: Server[] = [];
  const actual: Record<string, number> = {};
  for (const agent of AGENTS) {
    // Listen first: the card names the agent's own address, which port 0 only reveals once bound.
    const app = express();
    const server = await new Promise<Server>((resolve) => {
      const s: Server = app.listen(ports[agent.name] ?? agent.port, '127.0.0.1', () => resolve(s));
    });
    servers.push(server);
    actual[agent.name] = (server.address() as { port: number }).port;
    const base = `http://127.0.0.1:${actual[agent.name]}`;
    const card: AgentCard = {
      name: agent.name,
      description: `the ${agent.name} agent of the Portcullis A2A example`,
      supportedInterfaces: [
        { url: `${base}/a2a/jsonrpc`, protocolBinding: 'JSONRPC', tenant: '', protocolVersion: '1.0' },
        { url: `${base}/a2a/rest`, protocolBinding: 'HTTP+JSON', tenant: '', protocolVersion: '1.0' },
        { url: `${base}/a2a/jsonrpc`, protocolBinding: 'JSONRPC', tenant: '', protocolVersion: '0.3' },
      ],
      provider: undefined,
      version: '1.0.0',
      capabilities: { streaming: true, pushNotifications: false, extensions: [], extendedAgentCard: false },
      securitySchemes: {},
      securityRequirements: [],
      defaultInputModes: ['text/plain'],
      defaultOutputModes: ['text/plain'],
      skills: agent.skills.map((id) => ({ id, name: id, description: `${agent.name} can ${id}`, tags: [], examples: [], inputModes: [], outputModes: [], securityRequirements: [] })),
      signatures: [],
    };
    const handler = new DefaultRequestHandler(card, new InMemoryTaskStore(), executor(agent.name));
    app.use('/.well-known/agent-card.json', agentCardHandler({ agentCardProvider: handler, legacyCompat: { enabled: true } }));
    app.use('/a2a/jsonrpc', jsonRpcHandler({ requestHandler: handler, userBuilder: UserBuilder.noAuthentication, legacyCompat: { enabled: true } }));
    app.use('/a2a/rest', restHandler({ requestHandler: handler, userBuilder: UserBuilder.noAuthentication }));
  }
  return {
    ports: actual,
    close: async () => {
      for (const s of servers) {
        s.closeAllConnections();
        await new Promise<void>((r) => s.close(() => r()));
      }
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await startAgents();
  console.log(`agents up: ${AGENTS.map((a) => `${a.name} on http://127.0.0.1:${a.port}`).join(', ')}`);
}
