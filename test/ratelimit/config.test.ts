import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigValidationError, loadConfig, validateConfig } from '../../core/config/index.ts';
import { builtinPolicies } from '../../policies/index.ts';
import { builtinBackends } from '../../core/gateway/backends.ts';

const P = 'binds[0].listeners[0].routes[0].policies.rateLimit';

function issues(rateLimit: unknown): string[] {
  const raw = { binds: [{ port: 1, listeners: [{ routes: [{ policies: { rateLimit }, backends: [{ host: '127.0.0.1:1' }] }] }] }] };
  try {
    validateConfig(raw, builtinPolicies, builtinBackends);
  } catch (err) {
    assert.ok(err instanceof ConfigValidationError);
    assert.equal(err.code, 'PCL_ERR_CONFIG_INVALID');
    return err.issues.map((i) => `${i.path}: ${i.message}`);
  }
  return [];
}

const rate = { limit: 10, windowMs: 1000 };

describe('rateLimit config', () => {
  it('accepts a full policy', () => {
    assert.deepEqual(
      issues({
        limits: [
          { name: 'per-agent', key: ['subject', { claim: 'tenant' }, { header: 'x-team' }, 'clientAddress', 'route', 'apiKey', { constant: 'x' }], rate: { ...rate, burst: 20 } },
          { scope: 'message', methods: ['tools/call'], tools: ['search'], key: ['subject', 'tool', 'method', 'skill'], rate },
          { quota: { limit: 1000, period: 'month', timeZone: 'Europe/Paris' } },
          { key: ['subject'], concurrency: { limit: 2 } },
        ],
        store: { redis: { url: 'redis://user:pw@127.0.0.1:6379/2', prefix: 'gw:', timeoutMs: 100 } },
        failureMode: 'failClosed',
        trustedProxies: ['10.0.0.0/8', '127.0.0.1', '::1', 'fd00::/8'],
        headers: false,
      }),
      [],
    );
  });

  it('rejects zero and negative limits, windows and bursts, with their paths', () => {
    assert.deepEqual(
      issues({
        limits: [
          { rate: { limit: 0, windowMs: -1, burst: 0 } },
          { quota: { limit: -5, period: 'day' } },
          { concurrency: { limit: 0 } },
          { rate: { limit: 1.5, windowMs: 1000 } },
        ],
      }),
      [
        `${P}.limits[0].rate.limit: must be >= 1, got 0`,
        `${P}.limits[0].rate.windowMs: must be >= 1, got -1`,
        `${P}.limits[0].rate.burst: must be >= 1, got 0`,
        `${P}.limits[1].quota.limit: must be >= 1, got -5`,
        `${P}.limits[2].concurrency.limit: must be >= 1, got 0`,
        `${P}.limits[3].rate.limit: expected integer, got number`,
      ],
    );
  });

  it('rejects unknown key parts and message-only parts on HTTP limits', () => {
    assert.deepEqual(
      issues({
        limits: [
          { key: ['subject', 'user', { cookie: 'x' }, 42], rate },
          { key: ['tool'], tools: ['search'], rate },
        ],
      }),
      [
        `${P}.limits[0].key[1]: unknown key part "user" (expected one of: subject, apiKey, clientAddress, route, method, tool, skill, { claim }, { header }, { constant })`,
        `${P}.limits[0].key[2].cookie: unknown key (expected one of: claim, header, constant)`,
        `${P}.limits[0].key[2]: expected exactly one of claim, header, constant, got none`,
        `${P}.limits[0].key[3]: expected a key part (subject, apiKey, clientAddress, route, method, tool, skill, { claim }, { header }, { constant }), got number`,
        `${P}.limits[1].tools: filters protocol messages: set scope: "message" on this limit`,
        `${P}.limits[1].key[0]: "tool" exists only on protocol messages: set scope: "message" on this limit`,
      ],
    );
  });

  it('rejects bad Redis URLs, stores, time zones, proxies, names, and a limit with no or two algorithms', () => {
    assert.deepEqual(issues({ limits: [{ rate }], store: { redis: { url: 'localhost:6379' } } }), [
      `${P}.store.redis.url: expected a redis:// or rediss:// URL, got "localhost:"`,
    ]);
    assert.deepEqual(issues({ limits: [{ rate }], store: { redis: { url: 'not a url' } } }), [
      `${P}.store.redis.url: expected a URL like "redis://127.0.0.1:6379", got a value that is not a URL (9 characters, not shown: it may hold a password)`,
    ]);
    assert.deepEqual(issues({ limits: [{ rate }], store: { redis: { url: 'redis://h:1/x' } } }), [
      `${P}.store.redis.url: the path of a Redis URL is a database number, got "/x"`,
    ]);
    assert.deepEqual(issues({ limits: [{ rate }], store: { redis: {} } }), [`${P}.store.redis.url: is required (Redis URL)`]);
    assert.deepEqual(issues({ limits: [{ rate }], store: 'memcached' }), [`${P}.store: expected "local" or { redis: { url } }, got "memcached"`]);
    assert.deepEqual(issues({ limits: [{ quota: { limit: 1, period: 'week', timeZone: 'Mars/Olympus' } }] }), [
      `${P}.limits[0].quota.period: expected "hour" | "day" | "month", got "week"`,
      `${P}.limits[0].quota.timeZone: unknown time zone "Mars/Olympus" (expected an IANA name such as "UTC" or "Europe/Paris")`,
    ]);
    assert.deepEqual(issues({ limits: [{ rate }], trustedProxies: ['10.0.0.0/33', 'proxy.local'] }), [
      `${P}.trustedProxies[0]: expected a prefix length of 0 to 32, got "10.0.0.0/33"`,
      `${P}.trustedProxies[1]: expected an IP address or a CIDR range, got "proxy.local"`,
    ]);
    assert.deepEqual(issues({ limits: [{ name: 'a b', rate }, { name: 'x', rate }, { name: 'x', rate }] }), [
      `${P}.limits[0].name: expected a name of letters, digits, ".", "_" or "-" (at most 64), got "a b"`,
    ]);
    assert.deepEqual(issues({ limits: [{ name: 'x', rate }, { name: 'x', rate }] }), [`${P}.limits[1].name: duplicate limit name "x" (already used by limits[0])`]);
    assert.deepEqual(issues({ limits: [{ key: [] }, { rate, concurrency: { limit: 1 } }] }), [
      `${P}.limits[0]: expected exactly one of rate, quota, concurrency, got none`,
      `${P}.limits[1]: expected exactly one of rate, quota, concurrency, got rate, concurrency`,
    ]);
    assert.deepEqual(issues({ limits: [] }), [`${P}.limits: expected at least 1 item(s), got 0`]);
    assert.deepEqual(issues({}), [`${P}.limits: is required (array of object)`]);
  });

  it("maps agentgateway's localRateLimit onto a rate limit, and names LLM token limits as not served", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pcl-rl-'));
    try {
      const file = join(dir, 'config.yaml');
      await writeFile(
        file,
        `binds:
- port: 3509
  listeners:
  - routes:
    - policies:
        localRateLimit:
        - maxTokens: 10
          tokensPerFill: 1
          fillInterval: 60s
          type: requests
      backends:
      - host: 127.0.0.1:9
`,
      );
      const { config } = await loadConfig(file, builtinPolicies, builtinBackends);
      assert.deepEqual(config.binds[0].listeners[0].routes[0].policies.rateLimit, { limits: [{ rate: { limit: 1, windowMs: 60_000, burst: 10 }, type: 'requests' }] });

      await writeFile(file, `binds:\n- port: 3509\n  listeners:\n  - routes:\n    - policies:\n        localRateLimit:\n        - { maxTokens: 100, tokensPerFill: 100, fillInterval: 1d, type: tokens }\n      backends:\n      - host: 127.0.0.1:9\n`);
      await assert.rejects(loadConfig(file, builtinPolicies, builtinBackends), (err: ConfigValidationError) => {
        assert.deepEqual(
          err.issues.map((i) => `${i.path}: ${i.message}`),
          [
            `${P}.limits[0].type: LLM token limits (agentgateway "type: tokens") are not served by Portcullis: it counts requests and protocol messages; use "requests" or leave type out`,
          ],
        );
        return true;
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
