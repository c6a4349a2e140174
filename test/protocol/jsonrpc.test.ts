import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { JSONRPCMessageSchema } from '@modelcontextprotocol/sdk/types.js';
import fc from 'fast-check';
import { readMessages, type ServeEnv } from '../../core/backends/mcp/serve/common.ts';
import { GatewayError } from '../../core/errors.ts';
import { isJsonRpcMessage, RpcErrors } from '../../core/protocol/jsonrpc.ts';
import type { GatewayResponse } from '../../core/pipeline/types.ts';

const RUNS = 200;
const MAX_BATCH = 8;
const env = { maxBatchSize: MAX_BATCH } as ServeEnv;
const quietLog = { warn() {}, info() {}, debug() {}, error() {} };

/** The MCP edge's body codec (what a POST to /mcp is read with), fed raw bytes in arbitrary chunks. */
async function edge(bytes: Uint8Array, cuts: number[] = []) {
  const pieces: Buffer[] = [];
  let at = 0;
  for (const cut of [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)) {
    pieces.push(Buffer.from(bytes.subarray(at, cut)));
    at = cut;
  }
  pieces.push(Buffer.from(bytes.subarray(at)));
  const ctx = { body: Readable.from(pieces), log: quietLog, routeName: 'mcp' };
  return readMessages(ctx as never, env);
}

/** A refusal is a 400 whose body is one JSON-RPC error with id null: parse error or invalid request. */
function assertRefusal(out: GatewayResponse): void {
  assert.equal(out.status, 400);
  const body = JSON.parse(String(out.body));
  assert.equal(body.jsonrpc, '2.0');
  assert.equal(body.id, null);
  assert.ok([RpcErrors.PARSE_ERROR, RpcErrors.INVALID_REQUEST].includes(body.error.code), JSON.stringify(body));
  assert.equal(typeof body.error.message, 'string');
}

/** Messages valid for MCP (the shapes the official SDK's schema accepts). */
const id = fc.oneof(fc.string({ maxLength: 12 }), fc.integer());
const params = fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 });
const method = fc.string({ minLength: 1, maxLength: 20 });
const validMessage = fc.oneof(
  fc.record({ jsonrpc: fc.constant('2.0' as const), id, method, params }, { requiredKeys: ['jsonrpc', 'id', 'method'] }),
  fc.record({ jsonrpc: fc.constant('2.0' as const), method, params }, { requiredKeys: ['jsonrpc', 'method'] }),
  fc.record({ jsonrpc: fc.constant('2.0' as const), id, result: params }),
  fc.record({ jsonrpc: fc.constant('2.0' as const), id, error: fc.record({ code: fc.integer(), message: fc.string({ maxLength: 20 }), data: fc.jsonValue({ maxDepth: 1 }) }, { requiredKeys: ['code', 'message'] }) }),
);

describe('JSON-RPC codec at the MCP edge (readMessages, isJsonRpcMessage)', () => {
  it('refuses a body that is not UTF-8 as a parse error, not with replacement characters', async () => {
    const out = (await edge(Buffer.from([...Buffer.from('{"jsonrpc":"2.0","method":"a'), 0xc3, 0x28, ...Buffer.from('"}')]))) as GatewayResponse;
    assertRefusal(out);
    assert.equal(JSON.parse(String(out.body)).error.code, RpcErrors.PARSE_ERROR);
  });

  it('refuses responses with both result and error, or an error without a numeric code and a message', () => {
    assert.equal(isJsonRpcMessage({ jsonrpc: '2.0', id: 1, result: {}, error: { code: 1, message: 'x' } }), false);
    assert.equal(isJsonRpcMessage({ jsonrpc: '2.0', id: 1, error: { code: '1', message: 'x' } }), false);
    assert.equal(isJsonRpcMessage({ jsonrpc: '2.0', id: 1, error: 'boom' }), false);
    assert.equal(isJsonRpcMessage({ jsonrpc: '2.0', id: 1, method: 7, result: {} }), false);
    assert.equal(isJsonRpcMessage({ jsonrpc: '2.0', id: 1, result: null }), true);
  });

  it('property: arbitrary bytes in arbitrary chunks never throw: messages that are all JSON-RPC, or a JSON-RPC error', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 512 }), fc.array(fc.nat(), { maxLength: 6 }), async (bytes, cuts) => {
        const out = await edge(bytes, cuts);
        if ('status' in out) assertRefusal(out);
        else assert.ok(out.messages.length > 0 && out.messages.every(isJsonRpcMessage));
      }),
      { numRuns: RUNS },
    );
  });

  it('property: arbitrary JSON never throws (but a batch over the limit): a JSON-RPC error unless every item is a message', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.jsonValue(), fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 12 }), fc.array(validMessage, { maxLength: 12 })), async (value) => {
        let out: Awaited<ReturnType<typeof edge>>;
        try {
          out = await edge(Buffer.from(JSON.stringify(value)));
        } catch (err) {
          assert.ok(err instanceof GatewayError && err.code === 'PCL_ERR_MCP_BATCH_TOO_LARGE', String(err));
          assert.ok(Array.isArray(value) && value.length > MAX_BATCH);
          return;
        }
        const items = Array.isArray(value) ? value : [value];
        if ('status' in out) {
          assertRefusal(out);
          assert.ok(items.length === 0 || !items.every(isJsonRpcMessage));
        } else assert.deepEqual(out.messages, JSON.parse(JSON.stringify(items)));
      }),
      { numRuns: RUNS },
    );
  });

  it('property: valid messages and batches round-trip through the edge, in any chunking', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(validMessage, fc.array(validMessage, { minLength: 1, maxLength: MAX_BATCH })), fc.array(fc.nat(), { maxLength: 6 }), async (value, cuts) => {
        const out = await edge(Buffer.from(JSON.stringify(value)), cuts);
        assert.ok(!('status' in out), `refused ${JSON.stringify(value)}`);
        assert.equal(out.batch, Array.isArray(value));
        assert.deepEqual(out.messages, JSON.parse(JSON.stringify(Array.isArray(value) ? value : [value])));
      }),
      { numRuns: RUNS },
    );
  });

  it('property: every message the official MCP SDK schema accepts with an id or a method, the gateway accepts too', () => {
    const loose = fc.record(
      {
        jsonrpc: fc.constantFrom('2.0', '1.0'),
        id: fc.oneof(fc.string({ maxLength: 6 }), fc.integer(), fc.double(), fc.constant(null), fc.boolean()),
        method: fc.oneof(method, fc.integer()),
        params: fc.oneof(params, fc.array(fc.integer(), { maxLength: 2 }), fc.constant(null), fc.string()),
        result: fc.oneof(params, fc.jsonValue({ maxDepth: 1 })),
        error: fc.oneof(fc.record({ code: fc.oneof(fc.integer(), fc.string()), message: fc.oneof(fc.string(), fc.integer()) }), fc.string()),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(loose, validMessage), (value) => {
        const v = JSON.parse(JSON.stringify(value));
        // The SDK also takes an error response without an id; JSON-RPC 2.0 requires the member (null when unknown).
        if (JSONRPCMessageSchema.safeParse(v).success && ('id' in v || 'method' in v)) assert.ok(isJsonRpcMessage(v), JSON.stringify(v));
      }),
      { numRuns: RUNS * 5 },
    );
  });
});
