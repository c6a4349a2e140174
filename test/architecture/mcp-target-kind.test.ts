import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createGateway } from '../../core/gateway/index.ts';
import type { GatewayConfig } from '../../sdk-types/index.ts';
import { connectClient, text } from '../helpers/mcp.ts';
import { abacusTarget } from '../fixtures/toy-target/index.ts';

const quiet = { admin: { address: false }, readiness: { address: false }, stats: { address: false }, logging: { level: 'silent' }, shutdown: { drainTimeoutMs: 500 } } as const;

const config = (target: Record<string, unknown>) =>
  ({ ...quiet, binds: [{ port: 0, address: '127.0.0.1', listeners: [{ routes: [{ name: 'calc', backends: [{ mcp: { targets: [{ name: 'calc', ...target }] } }] }] }] }] }) as unknown as GatewayConfig;

// Its checklist in docs/architecture.md is checked with the other toys' in extensions.test.ts.
describe('extension seams: a toy MCP target kind, one folder and one registration', () => {
  it('serves tools/list and tools/call of the plugged-in kind through the gateway, to an SDK client', async () => {
    const gateway = await createGateway(config({ toyAbacus: { label: 'sum', digits: 1 } }), { mcpTargetKinds: [abacusTarget] });
    try {
      const { ports } = await gateway.listen();
      const client = await connectClient(`http://127.0.0.1:${ports[0]}/mcp`);
      try {
        assert.deepEqual((await client.listTools()).tools.map((t) => t.name), ['add']);
        assert.equal(text(await client.callTool({ name: 'add', arguments: { a: 2, b: 0.5 } })), 'sum: 2.5');
      } finally {
        await client.close();
      }
    } finally {
      await gateway.close();
    }
  });

  it('validates the kind\'s options like a built-in kind\'s, with their path; without the registration the key is unknown', async () => {
    await assert.rejects(createGateway(config({ toyAbacus: { label: 7, digits: 9 } }), { mcpTargetKinds: [abacusTarget] }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'PCL_ERR_CONFIG_INVALID');
      assert.equal(
        err.message,
        [
          'invalid configuration in the config object:',
          'binds[0].listeners[0].routes[0].backends[0].mcp.targets[0].toyAbacus.label: expected string, got number',
          'binds[0].listeners[0].routes[0].backends[0].mcp.targets[0].toyAbacus.digits: must be <= 6, got 9',
        ].join('\n'),
      );
      return true;
    });
    await assert.rejects(createGateway(config({ toyAbacus: { label: 'sum' } })), (err: Error) => {
      assert.match(err.message, /mcp\.targets\[0\]\.toyAbacus: unknown key \(expected one of: name, stdio, sse, mcp, openapi, requestTimeoutMs, tools\)/);
      return true;
    });
  });

  it('refuses a kind under a taken key with PCL_ERR_EXTENSION_CONFLICT', async () => {
    for (const key of ['stdio', 'tools']) {
      await assert.rejects(createGateway(config({ toyAbacus: { label: 'sum' } }), { mcpTargetKinds: [{ ...abacusTarget, key }] }), {
        code: 'PCL_ERR_EXTENSION_CONFLICT',
        message: `MCP target kind "${key}" is already registered: pick another key for the plugged-in kind`,
      });
    }
  });
});
