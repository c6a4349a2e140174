import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createRouter, normalizePath } from '../../core/routing/router.ts';
import type { RouteMatch } from '../../sdk-types/index.ts';
import { buildTestRuntime, type TestRuntime } from '../helpers/runtime.ts';

type R = { name: string; hostnames: string[]; matches: RouteMatch[] };
const r = (name: string, matches: RouteMatch[], hostnames: string[] = []): R => ({ name, hostnames, matches });

describe('router precedence (Gateway API)', () => {
  const match = createRouter<R>([
    r('catch-all', [{ path: { pathPrefix: '/' } }]),
    r('api', [{ path: { pathPrefix: '/api' } }]),
    r('api-v1', [{ path: { pathPrefix: '/api/v1/' } }]),
    r('api-exact', [{ path: { exact: '/api/v1/users' } }]),
    r('regex', [{ path: { regex: '/api/v[0-9]+/items/[0-9]+' } }]),
    r('get-only', [{ path: { pathPrefix: '/m' }, method: 'GET' }]),
    r('any-method', [{ path: { pathPrefix: '/m' } }]),
    r('one-header', [{ path: { pathPrefix: '/h' }, headers: [{ name: 'x-a', value: { exact: '1' } }] }]),
    r('two-headers', [{ path: { pathPrefix: '/h' }, headers: [{ name: 'X-A', value: { exact: '1' } }, { name: 'x-b', value: { regex: 'b+' } }] }]),
    r('query', [{ path: { pathPrefix: '/q' }, query: [{ name: 'v', value: { exact: '2' } }] }]),
    r('host-wild', [{ path: { pathPrefix: '/' } }], ['*.example.com']),
    r('host-exact', [{ path: { pathPrefix: '/' } }], ['api.example.com']),
    r('first', [{ path: { exact: '/dup' } }]),
    r('second', [{ path: { exact: '/dup' } }]),
  ]);
  const name = (path: string, extra: { method?: string; host?: string; headers?: Record<string, string>; search?: string } = {}) =>
    match({ host: extra.host ?? 'localhost', method: extra.method ?? 'GET', path, search: extra.search ?? '', headers: extra.headers ?? {} })?.route.name;

  it('exact beats regex beats the longest prefix', () => {
    assert.equal(name('/api/v1/users'), 'api-exact');
    assert.equal(name('/api/v2/items/7'), 'regex');
    assert.equal(name('/api/v1/other'), 'api-v1');
    assert.equal(name('/api/v1'), 'api-v1');
    assert.equal(name('/api'), 'api');
    assert.equal(name('/apix'), 'catch-all');
  });
  it('then a method condition, then most headers, then most query conditions', () => {
    assert.equal(name('/m', { method: 'GET' }), 'get-only');
    assert.equal(name('/m', { method: 'POST' }), 'any-method');
    assert.equal(name('/h', { headers: { 'x-a': '1', 'x-b': 'bbb' } }), 'two-headers');
    assert.equal(name('/h', { headers: { 'x-a': '1', 'x-b': 'c' } }), 'one-header');
    assert.equal(name('/h', { headers: { 'x-a': '2' } }), 'catch-all');
    assert.equal(name('/q', { search: '?v=2' }), 'query');
    assert.equal(name('/q', { search: '?v=3' }), 'catch-all');
  });
  it('host names: exact before wildcard before none; config order breaks ties', () => {
    assert.equal(name('/x', { host: 'api.example.com' }), 'host-exact');
    assert.equal(name('/x', { host: 'a.b.example.com' }), 'host-wild');
    assert.equal(name('/x', { host: 'example.com' }), 'catch-all');
    assert.equal(name('/dup'), 'first');
  });
  it('normalizes dot segments and duplicate slashes, and rejects non-paths', () => {
    assert.equal(normalizePath('/public/../admin'), '/admin');
    assert.equal(normalizePath('/public/%2e%2E/admin'), '/admin');
    assert.equal(normalizePath('/a//b/./c/'), '/a/b/c/');
    assert.equal(normalizePath('/a/b/..'), '/a/');
    assert.equal(normalizePath('/../../etc'), '/etc');
    assert.equal(normalizePath('http://x/y'), undefined);
  });
});

describe('listeners by host name, through createGateway().handle()', () => {
  let gw: TestRuntime;
  const reply = (body: string) => ({ directResponse: { status: 200, body } });
  before(async () => {
    gw = await buildTestRuntime({
      binds: [
        {
          port: 0,
          address: '127.0.0.1',
          listeners: [
            { name: 'exact', hostname: 'api.example.com', routes: [{ policies: reply('exact') }] },
            { name: 'wild', hostname: '*.example.com', routes: [{ policies: reply('wild') }, { matches: [{ path: { exact: '/admin' } }], policies: reply('wild-admin') }] },
            { name: 'any', routes: [{ matches: [{ path: { pathPrefix: '/public' } }], policies: reply('any-public') }] },
          ],
        },
      ],
    });
  });
  after(() => gw.close());
  const get = async (path: string, host: string) => {
    const res = await gw.fetch(`http://${host}${path}`);
    return { status: res.status, text: await res.text() };
  };

  it('picks the exact host, then the longest wildcard, then the catch-all', async () => {
    assert.deepEqual(await get('/', 'api.example.com:8080'), { status: 200, text: 'exact' });
    assert.deepEqual(await get('/', 'a.example.com'), { status: 200, text: 'wild' });
    assert.deepEqual(await get('/admin', 'a.example.com'), { status: 200, text: 'wild-admin' });
    assert.deepEqual(await get('/public/x', 'other.org'), { status: 200, text: 'any-public' });
  });
  it('404 with a code when nothing matches, and a path traversal cannot reach another route', async () => {
    const res = await get('/private', 'other.org');
    assert.equal(res.status, 404);
    assert.deepEqual(JSON.parse(res.text), { error: { code: 'PCL_ERR_NO_ROUTE', message: 'no route for GET /private on host "other.org"' } });
    assert.equal((await get('/public/../private', 'other.org')).status, 404);
    assert.equal((await get('/public/%2e%2e/private', 'other.org')).status, 404);
  });
});
