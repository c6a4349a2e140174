import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Agent } from 'undici';
import { forward } from '../../core/backends/http/forward.ts';
import { createBalanceInterceptor } from '../../core/backends/http/balancer.ts';
import { upstreamChannel, type UpstreamAttemptEvent } from '../../core/telemetry/events.ts';
import {
  createAttemptTimeoutInterceptor,
  createCredentialInterceptor,
  createRetryInterceptor,
  createRouteUpstream,
  withHeader,
} from '../../core/upstream/index.ts';
import { echoUpstream } from '../helpers/gateway.ts';

describe('upstream interceptors', () => {
  it('validate their options when built, not on a request', () => {
    assert.throws(() => createRetryInterceptor({ attempts: 11, backoffMs: 0 }), { name: 'RangeError', message: 'retry attempts must be an integer from 0 to 10, got 11' });
    assert.throws(() => createRetryInterceptor({ attempts: 1, backoffMs: -1 }), { message: 'retry backoffMs must be an integer of 0 or more, got -1' });
    assert.throws(() => createAttemptTimeoutInterceptor(0), { message: 'the attempt timeout must be an integer of 1 ms or more, got 0' });
    assert.throws(() => createCredentialInterceptor({ header: 'bad header', value: 'x' }), { message: 'the credential header must be an HTTP header name, got "bad header"' });
    assert.throws(() => createCredentialInterceptor({ header: 'authorization', value: 'a\r\nx-injected: 1' }), { message: 'the credential must not contain line breaks or NUL' });
  });

  it('set a header whatever form the headers come in, replacing any spelling of it, never changing the original', () => {
    const object = { Authorization: 'client', accept: 'x' };
    assert.deepEqual(withHeader(object, 'authorization', 'gw'), { accept: 'x', authorization: 'gw' });
    assert.deepEqual(object, { Authorization: 'client', accept: 'x' });
    assert.deepEqual(withHeader(['authorization', 'client', 'accept', 'x'], 'authorization', 'gw'), { accept: 'x', authorization: 'gw' });
    assert.deepEqual(withHeader([['AUTHORIZATION', 'client'], ['accept', 'x']] as any, 'authorization', 'gw'), { accept: 'x', authorization: 'gw' });
    assert.deepEqual(withHeader(new Map([['accept', 'x']]) as any, 'authorization', undefined), { accept: 'x' });
    assert.deepEqual(withHeader(undefined, 'authorization', 'gw'), { authorization: 'gw' });
  });

  it('an abort during the wait between two attempts ends the call at once, with its reason, and nothing is retried', async () => {
    const upstream = createRouteUpstream({
      contributions: [{ call: createRetryInterceptor({ attempts: 3, backoffMs: 5000 }) }],
      connectTimeoutMs: 2000,
      keepAliveTimeoutMs: 1000,
      bodyIdleTimeoutMs: 1000,
      path: 'test',
      routeName: 'abort-test',
    });
    const shared = new Agent();
    const dispatcher = upstream.compose({ shared, choose: createBalanceInterceptor([{ name: 'dead', host: '127.0.0.1:1', weight: 1 }], { scheme: 'http', routeName: 'abort-test', ejectionMs: 0 }) });
    const events: UpstreamAttemptEvent[] = [];
    const onStart = (e: unknown) => events.push(e as UpstreamAttemptEvent);
    upstreamChannel.start.subscribe(onStart);
    try {
      const controller = new AbortController();
      const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
      const timersBefore = timers();
      const started = Date.now();
      setTimeout(() => controller.abort(new Error('client gone')), 300);
      await assert.rejects(forward(dispatcher, { path: '/', method: 'GET' }, controller.signal), { message: 'client gone' });
      assert.ok(Date.now() - started < 3000, `ended after ${Date.now() - started} ms, not after the 5 s backoff`);
      // The wait is cancelled, not left to fire a retry for a caller that is gone (the backend would get it 5 s
      // later, and the timer held the process that long): no timer is left behind.
      assert.equal(timers(), timersBefore, 'the backoff timer is still pending: a retry would still be sent');
      assert.deepEqual(events.map((e) => [e.route, e.attempt, e.errorCode]), [['abort-test', 0, 'PCL_ERR_BACKEND_UNREACHABLE']]);
    } finally {
      upstreamChannel.start.unsubscribe(onStart);
      await shared.close();
    }
  });

  it('pass a client credential through from the dispatch options of each call, never from another', async () => {
    const up = await echoUpstream();
    const shared = new Agent();
    try {
      const upstream = createRouteUpstream({
        contributions: [{ attempt: createCredentialInterceptor({ header: 'x-key', passthrough: { from: 'x-key' } }), readsClientHeaders: true }],
        connectTimeoutMs: 2000,
        keepAliveTimeoutMs: 1000,
        bodyIdleTimeoutMs: 1000,
        path: 'test',
      });
      assert.equal(upstream.readsClientHeaders, true);
      const dispatcher = upstream.compose({ shared });
      const call = async (key: string | undefined) => {
        const res = await forward(
          dispatcher,
          { origin: `http://${up.host}`, path: '/', method: 'GET', headers: { 'x-key': 'stripped-by-authentication' }, ...(key ? { clientHeaders: { 'x-key': key } } : { clientHeaders: {} }) } as any,
          new AbortController().signal,
        );
        const chunks: Buffer[] = [];
        for await (const c of res.body) chunks.push(c as Buffer);
        return JSON.parse(Buffer.concat(chunks).toString()).headers['x-key'];
      };
      const seen = await Promise.all(['k1', undefined, 'k2', 'k3', undefined].map(call));
      assert.deepEqual(seen, ['k1', undefined, 'k2', 'k3', undefined]);
    } finally {
      await shared.close();
      await up.close();
    }
  });
});
