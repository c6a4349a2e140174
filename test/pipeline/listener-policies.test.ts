import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveConfig, validateConfig } from '../../core/config/index.ts';
import { s } from '../../core/config/index.ts';
import type { PolicyDefinition } from '../../core/pipeline/index.ts';
import { buildRuntime } from '../../core/server/runtime.ts';
import { createLogger } from '../../core/telemetry/index.ts';
import { builtinPolicies } from '../../policies/index.ts';
import { builtinBackends } from '../../core/gateway/backends.ts';

describe('listener policies are built once per listener', () => {
  it('shares one instance among the routes that inherit it, builds a route its own when it sets one, and scopes each', async () => {
    const built: Array<{ path: string; scope: string; tag: string }> = [];
    const counter: PolicyDefinition<{ tag: string }> = {
      name: 'counter',
      phase: 'requestFilter',
      schema: s.object({ tag: s.string() }),
      create(config, build) {
        built.push({ path: build.path, scope: build.scope, tag: config.tag });
        return { step: (_ctx, next) => next() };
      },
    };
    const definitions = [...builtinPolicies, counter];
    const direct = { policies: { directResponse: { status: 204 } } };
    const raw = {
      binds: [
        {
          port: 0,
          address: '127.0.0.1',
          listeners: [
            { name: 'l1', hostname: 'a.test', policies: { counter: { tag: 'l1' } }, routes: [{ name: 'r1', ...direct }, { name: 'r2', ...direct }, { name: 'r3', policies: { ...direct.policies, counter: { tag: 'r3' } } }] },
            { name: 'l2', hostname: 'b.test', policies: { counter: { tag: 'l2' } }, routes: [{ name: 'only', policies: { ...direct.policies, counter: { tag: 'own' } } }] },
          ],
        },
      ],
    };
    const config = resolveConfig(validateConfig(raw, definitions, builtinBackends), '/tmp', builtinBackends);
    const runtime = await buildRuntime(config, definitions, builtinBackends, createLogger({ level: 'silent' }));
    await runtime.close();
    const bind = config.binds[0].key;
    assert.deepEqual(built, [
      { path: 'binds[0].listeners[0].policies.counter', scope: `${bind}/l1`, tag: 'l1' },
      { path: 'binds[0].listeners[0].routes[2].policies.counter', scope: `${bind}/l1/r3`, tag: 'r3' },
      { path: 'binds[0].listeners[1].routes[0].policies.counter', scope: `${bind}/l2/only`, tag: 'own' },
    ]);
  });
});
