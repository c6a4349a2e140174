import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { send, simpleConfig, startTestGateway, startUpstream, type TestGateway, type Upstream } from '../helpers/gateway.ts';
import { filterFixture } from '../helpers/filters.ts';

const fixture = filterFixture;

describe('response filters and streamed or large bodies', () => {
  let gw: TestGateway;
  let up: Upstream;
  before(async () => {
    up = await startUpstream((req, res) => {
      if (req.url === '/events') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('data: first\n\n');
        setTimeout(() => res.end('data: last\n\n'), 400);
      } else if (req.url === '/large') {
        res.writeHead(200, { 'content-type': 'application/json' }); // chunked: no content-length
        res.write('{"items":[');
        res.end(`${Array.from({ length: 200 }, (_, i) => i).join(',')}]}`);
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"small":true}');
      }
    });
    gw = await startTestGateway(simpleConfig([{ policies: { filters: [{ file: fixture('respond-rewrite.ts'), maxBodyBytes: 256 }] }, backends: [{ host: up.host }] }]));
  });
  after(async () => {
    await gw.close();
    await up.close();
  });

  it('passes an event stream through event by event', async () => {
    const started = performance.now();
    const res = await request(`${gw.url()}/events`);
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['x-response-filtered'], 'not-json');
    const iterator = res.body[Symbol.asyncIterator]();
    const first = await iterator.next();
    assert.match(String(first.value), /data: first/);
    assert.ok(performance.now() - started < 350, 'the first event came before the stream ended');
    let rest = '';
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) rest += String(next.value);
    assert.match(rest, /data: last/);
  });

  it('lets a JSON body over maxBodyBytes through whole, unseen by the filter', async () => {
    const res = await send(`${gw.url()}/large`);
    assert.equal(res.status, 200);
    assert.equal(res.json().items.length, 200);
    assert.equal(res.json().filteredBy, undefined);
    assert.equal(res.headers['x-response-filtered'], 'not-json');
    const small = await send(`${gw.url()}/small`);
    assert.deepEqual(small.json(), { small: true, filteredBy: 'respond-rewrite', status: 200 });
  });
});
