import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { createVerifier, VERIFIED_CACHE_MAX } from '../../policies/jwt-auth/verifier.ts';
import { StateStore } from '../../core/state/index.ts';
import { BoundedMap } from '../../core/state/bounded-map.ts';
import { createLogger } from '../../core/telemetry/index.ts';
import { heapAfterGc, MiB } from '../helpers/memory.ts';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileRego, loadRegoPolicy } from '../../core/rego/index.ts';

/**
 * Every cache keyed by client input has a bound: floods of distinct keys leave memory where it was. (The A2A card
 * cache and rate-limit keys have their flood tests on a real gateway: a2a-card-cache, rate-limit-keys.)
 */
describe('caches keyed by client input stay bounded under floods of distinct keys (issue 25)', () => {
  it('verified-JWT cache: 12,000 distinct valid tokens keep at most VERIFIED_CACHE_MAX, the oldest evicted', async () => {
    const secret = 'flood-test-secret-0123456789abcdef';
    const verifier = createVerifier({ issuer: 'https://idp.test', secret: { secret }, algorithms: ['HS256'], baseDir: '/', path: 'jwtAuth', state: new StateStore(), logger: createLogger({ level: 'silent' }) });
    const key = new TextEncoder().encode(secret);
    const sign = (i: number) => new SignJWT({ roles: ['r'], pad: 'x'.repeat(300) }).setProtectedHeader({ alg: 'HS256' }).setIssuer('https://idp.test').setSubject(`user-${i}`).setExpirationTime('1h').sign(key);
    const first = await sign(0);
    await verifier.verify(first);
    const heap0 = heapAfterGc();
    let last = '';
    for (let i = 1; i <= 12_000; i++) {
      last = await sign(i);
      await verifier.verify(last);
    }
    const grown = heapAfterGc() - heap0;
    assert.ok(grown < 8 * MiB, `the heap grew by ${(grown / MiB).toFixed(1)} MiB`);
    assert.equal(verifier.cached(first), undefined, 'the first token was evicted');
    assert.equal(verifier.cached(last)?.subject, 'user-12000');
    assert.ok(VERIFIED_CACHE_MAX < 12_000);
  });

  it('Rego decision cache: 20,000 distinct inputs (a header the caller chooses) leave the heap where it was', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pcl-flood-rego-'));
    try {
      const file = join(dir, 'p.rego');
      await writeFile(file, 'package f\n\nimport rego.v1\n\nallow if startswith(input.request.headers["x-client"], "ok-")\n');
      const compiled = await compileRego({ files: [file], entrypoint: 'f/allow', baseDir: dir, cacheDir: join(dir, 'cache') });
      const policy = await loadRegoPolicy({ wasm: compiled.wasm, entrypoint: 'f/allow', data: {}, sources: compiled.sources });
      assert.equal(policy.pure, true, 'a pure policy: its decisions are cached');
      const input = (i: number) => ({ request: { headers: { 'x-client': `ok-${i}-${'v'.repeat(1500)}` } } });
      policy.evaluate(input(0));
      const heap0 = heapAfterGc();
      for (let i = 1; i <= 20_000; i++) assert.deepEqual(policy.evaluate(input(i)), { allow: true });
      const grown = heapAfterGc() - heap0;
      assert.ok(grown < 8 * MiB, `the heap grew by ${(grown / MiB).toFixed(1)} MiB`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('BoundedMap, the map every client-keyed cache uses: a flood keeps its size, evicting the least recently used', () => {
    const evicted: string[] = [];
    const map = new BoundedMap<string, number>(3, (k) => evicted.push(k));
    map.set('a', 1).set('b', 2).set('c', 3);
    map.get('a');
    map.set('d', 4);
    assert.deepEqual([...map.keys()], ['c', 'a', 'd']);
    assert.deepEqual(evicted, ['b']);
    for (let i = 0; i < 100_000; i++) map.set(`k${i}`, i);
    assert.equal(map.size, 3);
    assert.equal(map.evictions, 100_001);
    assert.throws(() => new BoundedMap(0), /maxEntries must be a positive integer, got 0/);
  });
});
