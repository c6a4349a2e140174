import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { describe, it } from 'node:test';
import { ConfigValidationError, resolveConfig, validateConfig } from '../../core/config/index.ts';
import { ownedSessionId, ownerOfSessionId } from '../../core/cluster/index.ts';
import { workerListenOptions } from '../../core/cluster/worker.ts';
import { builtinPolicies } from '../../policies/index.ts';
import { builtinBackends } from '../../core/gateway/backends.ts';

const base = { binds: [{ port: 1, listeners: [{ routes: [{ backends: [{ host: '127.0.0.1:1' }] }] }] }] };

function issues(raw: unknown): string[] {
  try {
    validateConfig(raw, builtinPolicies, builtinBackends);
  } catch (err) {
    assert.ok(err instanceof ConfigValidationError);
    return err.issues.map((i) => `${i.path}: ${i.message}`);
  }
  return [];
}

describe('workers setting', () => {
  it('accepts a count or auto, and resolves auto to the number of cores', () => {
    assert.deepEqual(issues({ ...base, workers: 4 }), []);
    assert.deepEqual(issues({ ...base, workers: 'auto' }), []);
    assert.equal(resolveConfig(validateConfig({ ...base, workers: 'auto' }, builtinPolicies, builtinBackends), '/tmp', builtinBackends).workers, availableParallelism());
    assert.equal(resolveConfig(validateConfig(base, builtinPolicies, builtinBackends), '/tmp', builtinBackends).workers, 1);
  });

  it('rejects anything else with the path of the field', () => {
    for (const bad of [0, -1, 1.5, 257, 'many', true, null]) {
      const found = issues({ ...base, workers: bad });
      assert.equal(found.length, 1, `${JSON.stringify(bad)}: ${found.join('; ')}`);
      assert.match(found[0], /^workers: /, JSON.stringify(bad));
    }
  });
});

describe('session ids and listening across workers', () => {
  it('a session id names its worker, and only a well-formed prefix counts', () => {
    assert.equal(ownerOfSessionId('w3.0b7e3c2a-1111-4222-8333-944445555666'), 3);
    assert.equal(ownerOfSessionId('w12.x'), 12);
    for (const other of ['0b7e3c2a-1111-4222-8333-944445555666', 'w.x', 'wx.y', 'w-1.z', 'word', '', 'w123456.x']) assert.equal(ownerOfSessionId(other), undefined, other);
    // Outside a worker process ids carry no prefix.
    assert.equal(ownedSessionId('abc'), 'abc');
  });

  it('uses SO_REUSEPORT where the kernel has it, the shared cluster socket elsewhere', () => {
    assert.deepEqual(workerListenOptions('linux'), { reusePort: true, exclusive: true });
    assert.deepEqual(workerListenOptions('darwin'), {});
    assert.deepEqual(workerListenOptions('win32'), {});
  });
});
