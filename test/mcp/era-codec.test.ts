import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as core from '@modelcontextprotocol/core/internal';
import { classifyInboundRequest } from '@modelcontextprotocol/server';
import {
  decodeHeaderValue,
  encodeHeaderValue,
  META_CLIENT_CAPABILITIES,
  META_CLIENT_INFO,
  META_LOG_LEVEL,
  META_PROTOCOL_VERSION,
  META_SERVER_INFO,
  META_SUBSCRIPTION_ID,
  readEnvelope,
} from '../../core/backends/mcp/era.ts';
import { openState, sealState, STATE_TTL_MS } from '../../core/backends/mcp/request-state.ts';
import { RpcErrors } from '../../core/protocol/jsonrpc.ts';

// The edge codec of the 2026-07-28 era, against the official SDK v2 as the reference.
describe('MCP 2026-07-28 edge codec', () => {
  it('names the envelope keys and error codes exactly as the SDK core does', () => {
    assert.equal(META_PROTOCOL_VERSION, core.PROTOCOL_VERSION_META_KEY);
    assert.equal(META_CLIENT_INFO, core.CLIENT_INFO_META_KEY);
    assert.equal(META_CLIENT_CAPABILITIES, core.CLIENT_CAPABILITIES_META_KEY);
    assert.equal(META_LOG_LEVEL, core.LOG_LEVEL_META_KEY);
    assert.equal(META_SERVER_INFO, core.SERVER_INFO_META_KEY);
    assert.equal(META_SUBSCRIPTION_ID, core.SUBSCRIPTION_ID_META_KEY);
    assert.equal(RpcErrors.INVALID_PARAMS, core.INVALID_PARAMS);
  });

  it('refuses every request the SDK classifier refuses, with the same JSON-RPC code (differential over generated requests)', () => {
    const versions: unknown[] = ['2026-07-28', '2099-01-01', 7, undefined];
    const caps: unknown[] = [{}, undefined, 'x'];
    const infos: unknown[] = [{ name: 'c', version: '1' }, undefined, { name: 1 }];
    const headerVersions = ['same', 'other', undefined];
    const methodHeaders = ['same', 'other', undefined];
    let compared = 0;
    let sdkRefused = 0;
    for (const method of ['tools/list', 'tools/call'])
      for (const version of versions)
        for (const cap of caps)
          for (const info of infos)
            for (const hv of headerVersions)
              for (const mh of methodHeaders) {
                const meta: Record<string, unknown> = {};
                if (version !== undefined) meta[META_PROTOCOL_VERSION] = version;
                if (cap !== undefined) meta[META_CLIENT_CAPABILITIES] = cap;
                if (info !== undefined) meta[META_CLIENT_INFO] = info;
                const body = { jsonrpc: '2.0' as const, id: 1, method, params: { name: 'echo', _meta: meta } };
                const versionHeader = hv === 'same' ? (typeof version === 'string' ? version : '2026-07-28') : hv === 'other' ? '2026-07-28x' : undefined;
                const methodHeader = mh === 'same' ? method : mh === 'other' ? 'prompts/get' : undefined;
                const headers: Record<string, string> = { 'mcp-name': 'echo' };
                if (versionHeader) headers['mcp-protocol-version'] = versionHeader;
                if (methodHeader) headers['mcp-method'] = methodHeader;
                // Only requests that claim the era reach the codec (the body decides: see isModernMessage).
                if (version === undefined && !(versionHeader ?? '').startsWith('2026')) continue;
                const sdk = classifyInboundRequest({ httpMethod: 'POST', protocolVersionHeader: versionHeader, mcpMethodHeader: methodHeader, mcpNameHeader: 'echo', body });
                const ours = readEnvelope(body, headers);
                compared++;
                if (sdk.kind === 'reject') {
                  sdkRefused++;
                  assert.ok('rpc' in ours, `SDK refuses (${sdk.code} ${sdk.message}) but we accept: ${JSON.stringify({ meta, headers })}`);
                  assert.equal(ours.rpc.code, sdk.code, `${JSON.stringify({ meta, headers })}: SDK ${sdk.message} / ours ${ours.rpc.message}`);
                  assert.equal(ours.status, sdk.httpStatus);
                }
              }
    assert.ok(compared > 200 && sdkRefused > 50, `${compared} compared, ${sdkRefused} refused by the SDK`);
  });

  it('header values: Base64 sentinel round trip for any string, plain ASCII as is, non-canonical Base64 refused', () => {
    const samples = ['us-west1', 'Hello, 世界', ' padded ', 'line1\nline2', '=?base64?literal?=', '', 'a', 'tab\tinside', '🙂'];
    for (let i = 0; i < 200; i++) samples.push(String.fromCodePoint(...Array.from({ length: 1 + (i % 12) }, (_, j) => 32 + ((i * 7919 + j * 104729) % 0x2fff))));
    for (const s of samples) assert.equal(decodeHeaderValue(encodeHeaderValue(s)), s, JSON.stringify(s));
    assert.equal(encodeHeaderValue('us-west1'), 'us-west1');
    assert.equal(encodeHeaderValue('Hello, 世界'), '=?base64?SGVsbG8sIOS4lueVjA==?=');
    assert.equal(encodeHeaderValue('=?base64?literal?='), '=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?=');
    assert.equal(decodeHeaderValue('=?base64?SGVsbG8?=') , undefined);
    assert.equal(decodeHeaderValue('=?base64?/w==?='), undefined); // not UTF-8
  });

  it('request state: opens for its caller and request until it expires', () => {
    const binding = { owner: 'apiKey\u0000agent-a', method: 'tools/call', name: 'confirm' };
    const now = 1_000_000;
    const token = sealState(binding, 'inner', now);
    assert.deepEqual(openState(token, binding, now + STATE_TTL_MS), { inner: 'inner' });
    assert.deepEqual(openState(token, binding, now + STATE_TTL_MS + 1), { refused: 'it expired' });
    assert.deepEqual(openState(sealState(binding, undefined, now), binding, now), { inner: undefined });
    assert.deepEqual(openState(token, { ...binding, owner: 'anonymous' }, now), { refused: 'it was issued to another caller' });
    assert.deepEqual(openState(42, binding, now), { refused: 'it was not issued by this gateway' });
    assert.deepEqual(openState('pcl1.', binding, now), { refused: 'its integrity check failed' });
  });
});
