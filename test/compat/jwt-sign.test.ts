import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import { loadConfig } from '../../core/config/index.ts';
import { builtinPolicies } from '../../policies/index.ts';
import { builtinBackends } from '../../core/gateway/backends.ts';
import { configSource, echoUpstream, send, simpleConfig, startTestGateway, type Upstream } from '../helpers/gateway.ts';

const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ec384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const pem = (k: KeyObject, type: 'pkcs8' | 'pkcs1' | 'sec1' = 'pkcs8') => k.export({ format: 'pem', type } as never) as string;

describe('backendAuth.jwtSign: the gateway signs a JWT for the backend on every request', () => {
  let dir: string;
  let upstream: Upstream;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pcl-jwtsign-'));
    upstream = await echoUpstream();
    await writeFile(join(dir, 'ec.pem'), pem(ec.privateKey, 'sec1'));
    process.env.PCL_TEST_RSA_KEY = pem(rsa.privateKey, 'pkcs1');
  });
  after(async () => {
    delete process.env.PCL_TEST_RSA_KEY;
    await upstream?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function tokenFrom(policy: Record<string, unknown>, files: Record<string, string> = {}): Promise<{ header: string; auth: string }> {
    const gw = await startTestGateway(simpleConfig([{ policies: { backendAuth: policy }, backends: [{ host: upstream.host }] }] as never), { files });
    try {
      const res = await send(`${gw.url()}/x`, { headers: { authorization: 'Bearer client-token' } });
      assert.equal(res.status, 200, res.text);
      const headers = res.json().headers as Record<string, string>;
      return { header: headers['x-snowflake-token'] ?? '', auth: headers.authorization ?? '' };
    } finally {
      await gw.close();
    }
  }

  it('ES256 from a key file: claims, kid, iat backdated 10 s, exp ttl after signing; verified by jose', async () => {
    const before = Math.floor(Date.now() / 1000);
    const { auth } = await tokenFrom({ jwtSign: { signingKey: { file: join(dir, 'ec.pem') }, alg: 'ES256', kid: 'k1', claims: { iss: 'ACCT.USER.SHA256:fp', sub: 'ACCT.USER', aud: 'http://127.0.0.1', scope: ['a', 'b'] }, ttlMs: 60_000 } });
    assert.match(auth, /^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
    const token = auth.slice('Bearer '.length);
    assert.deepEqual(decodeProtectedHeader(token), { alg: 'ES256', typ: 'JWT', kid: 'k1' });
    const { payload } = await jwtVerify(token, ec.publicKey, { algorithms: ['ES256'], issuer: 'ACCT.USER.SHA256:fp', audience: 'http://127.0.0.1', subject: 'ACCT.USER' });
    assert.deepEqual(payload.scope, ['a', 'b']);
    assert.ok(payload.iat! >= before - 11 && payload.iat! <= before - 9 + 2, `iat ${payload.iat} vs ${before}`);
    assert.equal(payload.exp! - payload.iat!, 70, 'exp is 60 s after signing, iat 10 s before it');
    assert.equal(payload.nbf, undefined);
  });

  it('RS256 (the default alg) from an environment variable, and PS256 and ES384 inline; the client\'s token never reaches the backend', async () => {
    const rs = await tokenFrom({ jwtSign: { signingKey: { env: 'PCL_TEST_RSA_KEY' }, claims: { sub: 'svc' } } });
    assert.notEqual(rs.auth, 'Bearer client-token');
    const rsToken = rs.auth.slice('Bearer '.length);
    assert.equal(decodeProtectedHeader(rsToken).alg, 'RS256');
    const verified = await jwtVerify(rsToken, rsa.publicKey, { algorithms: ['RS256'], subject: 'svc' });
    assert.equal(verified.payload.exp! - verified.payload.iat!, 310, 'the default ttl is 300 s');
    const ps = await tokenFrom({ jwtSign: { signingKey: pem(rsa.privateKey), alg: 'PS256' } });
    await jwtVerify(ps.auth.slice('Bearer '.length), rsa.publicKey, { algorithms: ['PS256'] });
    const es384 = await tokenFrom({ jwtSign: { signingKey: pem(ec384.privateKey), alg: 'ES384' } });
    await jwtVerify(es384.auth.slice('Bearer '.length), ec384.publicKey, { algorithms: ['ES384'] });
  });

  it('a fresh token per request; header and prefix choose where it goes', async () => {
    const gw = await startTestGateway(simpleConfig([{ policies: { backendAuth: { header: 'x-snowflake-token', prefix: '', jwtSign: { signingKey: pem(ec.privateKey), alg: 'ES256', claims: { jti: 'fixed' } } } }, backends: [{ host: upstream.host }] }] as never));
    try {
      const first = (await send(`${gw.url()}/x`)).json().headers['x-snowflake-token'];
      await jwtVerify(first, ec.publicKey);
      const second = (await send(`${gw.url()}/x`)).json().headers['x-snowflake-token'];
      await jwtVerify(second, ec.publicKey);
      // ECDSA signatures are randomized: two signings of even the same claims differ.
      assert.notEqual(first, second);
    } finally {
      await gw.close();
    }
  });

  describe('bad input is a config error with its path', () => {
    const p = 'binds[0].listeners[0].routes[0].policies.backendAuth';
    async function errors(policy: Record<string, unknown>): Promise<string[]> {
      const file = join(dir, 'gateway.config.ts');
      await writeFile(file, configSource(simpleConfig([{ policies: { backendAuth: policy }, backends: [{ host: '127.0.0.1:1' }] }] as never)));
      try {
        await loadConfig(file, builtinPolicies, builtinBackends);
      } catch (err) {
        assert.equal((err as { code?: string }).code, 'PCL_ERR_CONFIG_INVALID', (err as Error).message);
        return (err as Error).message.split('\n').slice(1);
      }
      throw new Error('expected a config error');
    }

    it('reserved claims, an unknown alg, a short ttl, a key that is not PEM, jwtSign beside credential', async () => {
      assert.deepEqual(await errors({ jwtSign: { signingKey: pem(ec.privateKey), alg: 'ES256', claims: { iat: 1, exp: 2 } } }), [
        `${p}.jwtSign.claims.iat: "iat" is set by the signer and cannot be configured`,
        `${p}.jwtSign.claims.exp: "exp" is set by the signer and cannot be configured`,
      ]);
      assert.deepEqual(await errors({ jwtSign: { signingKey: pem(ec.privateKey), alg: 'HS256' } }), [`${p}.jwtSign.alg: expected "RS256" | "RS384" | "RS512" | "PS256" | "ES256" | "ES384", got "HS256"`]);
      assert.deepEqual(await errors({ jwtSign: { signingKey: pem(ec.privateKey), ttlMs: 0 } }), [`${p}.jwtSign.ttlMs: must be >= 1000, got 0`]);
      assert.deepEqual(await errors({ jwtSign: { signingKey: 'not a key' } }), [`${p}.jwtSign.signingKey: expected a PEM private key ("-----BEGIN PRIVATE KEY-----" ...), or { file: <path> } / { env: <name> }`]);
      assert.deepEqual(await errors({ credential: { secret: 'x' }, jwtSign: { signingKey: pem(ec.privateKey) } }), [`${p}: expected exactly one of credential, passthrough, jwtSign, identityMap, tokenExchange, oauth, got credential, jwtSign`]);
    });

    it('a key that does not fit the algorithm, a PEM that does not parse, a key file that is missing (found when the policy is built)', async () => {
      await assert.rejects(
        startTestGateway(simpleConfig([{ policies: { backendAuth: { jwtSign: { signingKey: pem(rsa.privateKey), alg: 'ES256' } } }, backends: [{ host: '127.0.0.1:1' }] }] as never)),
        (e: Error & { code?: string }) => e.code === 'PCL_ERR_CONFIG_INVALID' && e.message.includes(`${p}.jwtSign.signingKey: ES256 needs an EC key on P-256, got an RSA key`),
      );
      await assert.rejects(
        startTestGateway(simpleConfig([{ policies: { backendAuth: { jwtSign: { signingKey: pem(ec.privateKey) } } }, backends: [{ host: '127.0.0.1:1' }] }] as never)),
        (e: Error & { code?: string }) => e.code === 'PCL_ERR_CONFIG_INVALID' && e.message.includes(`${p}.jwtSign.signingKey: RS256 needs an RSA key, got an EC key on prime256v1`),
      );
      await assert.rejects(
        startTestGateway(simpleConfig([{ policies: { backendAuth: { jwtSign: { signingKey: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n', alg: 'ES256' } } }, backends: [{ host: '127.0.0.1:1' }] }] as never)),
        (e: Error & { code?: string }) => e.code === 'PCL_ERR_CONFIG_INVALID' && e.message.includes(`${p}.jwtSign.signingKey: not a PEM private key`),
      );
      await assert.rejects(
        startTestGateway(simpleConfig([{ policies: { backendAuth: { jwtSign: { signingKey: { file: './missing.pem' }, alg: 'ES256' } } }, backends: [{ host: '127.0.0.1:1' }] }] as never)),
        (e: Error & { code?: string }) => e.code === 'PCL_ERR_CONFIG_INVALID' && /jwtSign\.signingKey\.file: cannot read .*missing\.pem/.test(e.message),
      );
    });
  });
});
