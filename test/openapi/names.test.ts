import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildOperations, toolName } from '../../core/backends/mcp/upstream/openapi/index.ts';

const ok = { '200': { description: 'ok' } };

describe('OpenAPI target: tool names', () => {
  it('sanitizes operationIds to MCP tool-name rules, falls back to method and path, and stays within 64 characters', () => {
    assert.equal(toolName('repos/get-content', 'get', '/x'), 'repos_get-content');
    assert.equal(toolName('  weird name!! ', 'get', '/x'), 'weird_name');
    assert.equal(toolName(undefined, 'get', '/pets/{petId}/photos'), 'get_pets_petId_photos');
    assert.equal(toolName('***', 'delete', '/'), 'delete');
    const long = toolName('x'.repeat(100), 'get', '/');
    assert.equal(long.length, 64);
    assert.match(long, /^x{55}_[0-9a-f]{8}$/);
    // Stable: the same long id always gives the same name; another long id with the same start gives another.
    assert.equal(toolName('x'.repeat(100), 'get', '/'), long);
    assert.notEqual(toolName(`${'x'.repeat(99)}y`, 'get', '/'), long);
  });

  it('makes names unique in spec order, overrides included, and keeps every operation', () => {
    const doc = {
      openapi: '3.0.3',
      info: { title: 't', version: '1' },
      paths: {
        '/a': { get: { operationId: 'a.b', responses: ok }, post: { operationId: 'a_b', responses: ok }, put: { operationId: 'a b', responses: ok } },
        '/c': { get: { operationId: 'c', responses: ok }, delete: { responses: ok } },
      },
    };
    const { tools, skipped } = buildOperations(doc, '3.0', { schema: 'x', overrides: { c: { name: 'a_b' } } });
    assert.deepEqual(skipped, []);
    assert.deepEqual(tools.map((t) => `${t.method} ${t.path} ${t.name}`), ['GET /a a_b', 'PUT /a a_b_2', 'POST /a a_b_3', 'GET /c a_b_4', 'DELETE /c delete_c']);
  });
});
