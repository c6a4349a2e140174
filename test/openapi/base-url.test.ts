import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OpenApiApi, type LoadedSpec } from '../../core/backends/mcp/upstream/openapi/index.ts';
import type { McpOpenApiTarget } from '../../sdk-types/openapi.ts';

const spec = (servers: unknown[] | undefined, url?: string): LoadedSpec => ({
  doc: { openapi: '3.0.3', info: { title: 't', version: '1' }, paths: {}, ...(servers ? { servers } : {}) },
  version: '3.0',
  files: [],
  url,
});
const base = (s: LoadedSpec, config: Partial<McpOpenApiTarget>, tls = false) => new OpenApiApi(s, { schema: 'x', ...config }, 'where').baseUrl(tls);

describe('OpenAPI target: where calls go', () => {
  const v3 = spec([{ url: '/v3' }]);
  it("agentgateway's host forms: name:port, URL with or without path, host with port and path", () => {
    assert.equal(base(v3, { host: 'localhost:8080' }), 'http://localhost:8080/v3');
    assert.equal(base(v3, { host: 'localhost:8080' }, true), 'https://localhost:8080/v3');
    assert.equal(base(v3, { host: 'https://api.example.com' }), 'https://api.example.com/v3');
    assert.equal(base(v3, { host: 'https://api.example.com/v9/' }), 'https://api.example.com/v9');
    assert.equal(base(v3, { host: 'api.internal', port: 9000, path: '/' }), 'http://api.internal:9000');
    assert.equal(base(v3, { host: '::1', port: 9000 }), 'http://[::1]:9000/v3');
    assert.equal(base(v3, { host: '::1' }), 'http://[::1]/v3');
    assert.equal(base(v3, { url: 'https://api.example.com/base/' }), 'https://api.example.com/base');
  });

  it('the first server with its variables; relative to the URL the spec came from', () => {
    const templated = spec([{ url: 'https://{region}.example.com/{v}', variables: { region: { default: 'us' }, v: { default: 'v1' } } }, { url: 'https://ignored' }]);
    assert.equal(base(templated, {}), 'https://us.example.com/v1');
    assert.equal(base(templated, { serverVariables: { region: 'eu' } }), 'https://eu.example.com/v1');
    assert.equal(base(spec([{ url: '/api/v3' }], 'https://petstore3.example.com/api/v3/openapi.json'), {}), 'https://petstore3.example.com/api/v3');
    assert.throws(() => base(spec([{ url: 'https://{tenant}.example.com' }]), {}), /#\/servers\/0\/url: variable \{tenant\} has no default; set it in serverVariables/);
    assert.throws(() => base(spec([{ url: 'ftp://files.example.com' }]), {}), /#\/servers\/0\/url: "ftp:\/\/files.example.com" is not an http\(s\) URL/);
  });
});
