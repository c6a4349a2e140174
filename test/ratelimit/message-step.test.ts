import assert from 'node:assert/strict';
import { createHook } from 'node:async_hooks';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import type { MessageContext } from '../../core/pipeline/message.ts';
import type { PolicyInstance, RequestContext } from '../../core/pipeline/types.ts';
import { RpcFailure } from '../../core/protocol/jsonrpc.ts';
import { RATE_LIMIT_CLOCK } from '../../policies/rate-limit/engine/index.ts';
import { GLOBAL_SCOPE, StateStore } from '../../core/state/index.ts';
import { createLogger } from '../../core/telemetry/index.ts';
import { rateLimit } from '../../policies/rate-limit/index.ts';
import type { Identity } from '../../sdk-types/identity.ts';
import type { RateLimitPolicy } from '../../sdk-types/rate-limit.ts';
import { LogCapture, until } from '../helpers/gateway.ts';
import { portBelowEphemeralRange } from '../helpers/held-ports.ts';

/**
 * The policy's protocol-independent message step, driven with the message contexts a protocol backend builds: A2A
 * messages (the A2A backend fills `a2a`), and a Redis that cannot be reached.
 */

const logs = new LogCapture();
const logger = createLogger({ level: 'debug', destination: logs.stream });

async function build(config: RateLimitPolicy): Promise<PolicyInstance> {
  const issues: Array<{ path: string; message: string }> = [];
  rateLimit.schema.check(config, 'rateLimit', issues);
  assert.deepEqual(issues, []);
  // A clock that stands still, so retry times are exact.
  const state = new StateStore();
  state.set(RATE_LIMIT_CLOCK, GLOBAL_SCOPE, () => 1_700_000_000_000);
  return rateLimit.create(config, {
    baseDir: '.',
    path: 'binds[0].listeners[0].routes[0].policies.rateLimit',
    scope: '127.0.0.1:0#0/bind0/a2a',
    upstream: { connectTimeoutMs: 1000, keepAliveTimeoutMs: 1000, bodyIdleTimeoutMs: 1000 },
    logger,
    state,
  });
}

function http(subject: string): RequestContext {
  const identity: Identity = { kind: 'apiKey', subject, roles: [], claims: {} };
  return { id: 'req', routeName: 'a2a', identity, clientHeaders: {}, clientAddress: '127.0.0.1', log: logger } as unknown as RequestContext;
}

function a2a(subject: string, method: string, skill?: string): MessageContext {
  return {
    protocol: 'a2a',
    http: http(subject),
    method,
    params: {},
    a2a: { method, params: {}, agent: 'translator', ...(skill ? { skill } : {}) },
    update: async () => {},
  } as MessageContext;
}

async function run(instance: PolicyInstance, m: MessageContext): Promise<'passed' | RpcFailure> {
  let passed = false;
  try {
    await instance.message!.run!(m, async () => {
      passed = true;
    });
  } catch (err) {
    assert.ok(err instanceof RpcFailure, String(err));
    return err;
  }
  assert.ok(passed);
  return 'passed';
}

describe('rateLimit message step', () => {
  const instances: PolicyInstance[] = [];
  after(async () => {
    for (const i of instances) await i.close?.();
  });

  it('limits A2A messages by method and skill, per agent and skill', async () => {
    const instance = await build({
      limits: [{ name: 'translate', scope: 'message', methods: ['message/send', 'SendMessage'], skills: ['translate'], key: ['subject', 'skill'], rate: { limit: 2, windowMs: 3_600_000 } }],
    });
    instances.push(instance);
    assert.equal(await run(instance, a2a('alice', 'message/send', 'translate')), 'passed');
    assert.equal(await run(instance, a2a('alice', 'SendMessage', 'translate')), 'passed', 'v1.0 method name, same bucket');
    const refused = await run(instance, a2a('alice', 'message/send', 'translate'));
    assert.ok(refused instanceof RpcFailure);
    assert.equal(refused.code, -32083);
    assert.equal(refused.message, 'rate limit "translate" reached: retry in 1800 s');
    assert.deepEqual(refused.data, { code: 'PCL_ERR_RATE_LIMITED', limit: 'translate', retryAfterMs: 1_800_000 });
    assert.equal(await run(instance, a2a('alice', 'message/send', 'summarize')), 'passed', 'another skill is not counted');
    assert.equal(await run(instance, a2a('alice', 'tasks/get')), 'passed', 'another method is not counted');
    assert.equal(await run(instance, a2a('bob', 'message/send', 'translate')), 'passed', 'another agent has its own bucket');
  });

  it('an unreachable Redis: failClosed refuses a message with a JSON-RPC error, failOpen decides in this process', async () => {
    const url = `redis://127.0.0.1:${await portBelowEphemeralRange()}`; // nothing listens there
    const limits: RateLimitPolicy['limits'] = [{ name: 'calls', scope: 'message', key: ['subject'], rate: { limit: 1, windowMs: 3_600_000 } }];
    const started = Date.now();
    const closed = await build({ limits, store: { redis: { url } }, failureMode: 'failClosed' });
    instances.push(closed);
    assert.ok(Date.now() - started < 1500, 'the build does not wait long for a Redis that refuses connections');
    const refused = await run(closed, a2a('alice', 'message/send'));
    assert.ok(refused instanceof RpcFailure);
    assert.equal(refused.code, -32083);
    assert.deepEqual(refused.data, { code: 'PCL_ERR_RATE_LIMIT_UNAVAILABLE', limit: 'calls', retryAfterMs: 1000 });
    assert.ok(logs.find((l) => l.msg === 'rate-limit store (Redis) is unreachable: the failure mode decides until it is back' && l.store === url));

    const open = await build({ limits, store: { redis: { url } }, failureMode: 'failOpen' });
    instances.push(open);
    assert.equal(await run(open, a2a('alice', 'message/send')), 'passed');
    assert.equal(((await run(open, a2a('alice', 'message/send'))) as RpcFailure).code, -32083, 'the local fallback limit applies');
  });

  it('once closed, a policy whose Redis never answered leaves no client timer to hold the process up', async () => {
    const url = `redis://127.0.0.1:${await portBelowEphemeralRange()}`; // nothing listens there
    const instance = await build({ limits: [{ name: 'calls', scope: 'message', key: ['subject'], rate: { limit: 1, windowMs: 3_600_000 } }], store: { redis: { url } }, failureMode: 'failOpen' });
    assert.equal(await run(instance, a2a('alice', 'message/send')), 'passed');
    // Known down, its refused socket closed: the client waits to try again.
    await logs.waitFor((l) => l.msg === 'rate-limit store (Redis) is unreachable: the failure mode decides until it is back' && l.store === url);
    await until(() => !process.getActiveResourcesInfo().includes('ConnectWrap'), { what: 'the refused connection to close' });
    // The timers ioredis's disconnect starts while the policy closes (other tests' clients, still open, reconnect).
    const started = new Set<number>();
    const hook = createHook({
      init: (id, type) => {
        if (type === 'Timeout' && /ioredis.built.connectors.AbstractConnector/.test(new Error().stack ?? '')) started.add(id);
      },
      destroy: (id) => started.delete(id),
    }).enable();
    try {
      await instance.close!();
      // ioredis waits disconnectTimeout (2 s by default) for a socket that already closed: a gateway (or a reload)
      // that drops the store kept its process up that long.
      await until(() => started.size === 0, { timeoutMs: 1000, what: "the Redis client's timers to end" });
    } finally {
      hook.disable();
    }
  });
});
