// Added cost of security per MCP tools/call: one gateway, two MCP routes to the same kind of server
// (server-everything over stdio), one with no policy and one with jwtAuth (RS256, keys from a real JWKS endpoint)
// plus Rego authorization (examples/authorization's rules). Three clients take turns in one run so drift hits all
// alike: the secure one, a plain one sending the very same request (bearer token included, which the plain route
// ignores), and a plain one without a token. The added p50 is the difference; the first pair isolates what the
// policies cost the gateway, the second adds what carrying a 700-byte token costs client and wire. In-process
// figures of each part are given beside it. Profile with `node --cpu-prof bench/run.ts security` (one process).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { startPortcullis } from '../core/server/index.ts';
import { createLogger } from '../core/telemetry/index.ts';
import { StateStore } from '../core/state/index.ts';
import { builtinPolicies } from '../policies/index.ts';
import { builtinBackends } from '../core/gateway/backends.ts';
import { buildRegoPolicy } from '../policies/authorization/index.ts';
import { createVerifier } from '../policies/jwt-auth/index.ts';
import { percentile, type BenchSection } from './report.ts';

const ROUNDS = 3000;
const WARMUP = 200;
const MICRO_ROUNDS = 5000;
const BUDGET_MS = 40_000;
const ISS = 'https://idp.bench';
const AUD = 'portcullis-bench';
const EXAMPLE = fileURLToPath(new URL('../examples/authorization/', import.meta.url));
const EVERYTHING = fileURLToPath(new URL('../node_modules/@modelcontextprotocol/server-everything/dist/index.js', import.meta.url));

const us = (ms: number) => Math.round(ms * 1000 * 10) / 10;

export async function bench(): Promise<BenchSection> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'bench-1', alg: 'RS256', use: 'sig' }] });
  const jwksServer = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(jwks));
  await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
  const jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks`;
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ roles: ['readonly'] })
    .setProtectedHeader({ alg: 'RS256', kid: 'bench-1' })
    .setIssuer(ISS)
    .setAudience(AUD)
    .setSubject('readonly-agent')
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(privateKey);

  const dir = mkdtempSync(join(tmpdir(), 'pcl-bench-security-'));
  const target = { name: 'everything', stdio: { cmd: 'node', args: [EVERYTHING, 'stdio'] } };
  const authz = { rego: join(EXAMPLE, 'policy/authz.rego'), data: join(EXAMPLE, 'policy/roles.yaml') };
  const config = {
    admin: { address: false },
    readiness: { address: false },
    logging: { accessLog: false },
    binds: [
      {
        port: 0,
        address: '127.0.0.1',
        listeners: [
          {
            routes: [
              { name: 'plain', matches: [{ path: { pathPrefix: '/plain' } }], backends: [{ mcp: { targets: [target] } }] },
              {
                name: 'secure',
                matches: [{ path: { pathPrefix: '/secure' } }],
                policies: { jwtAuth: { issuer: ISS, audiences: [AUD], jwks: { url: jwksUrl } }, authorization: authz },
                backends: [{ mcp: { targets: [target] } }],
              },
            ],
          },
        ],
      },
    ],
  };
  writeFileSync(join(dir, 'gateway.config.ts'), `export default ${JSON.stringify(config)};\n`);
  const sink = new Writable({ write: (_c, _e, cb) => cb() });
  const logger = createLogger({ level: 'warn', destination: sink });
  const running = await startPortcullis({ configFile: join(dir, 'gateway.config.ts'), policies: builtinPolicies, backends: builtinBackends, watch: false, logger });
  const base = `http://127.0.0.1:${running.gateway.ports()[0]}`;
  const plain = new Client({ name: 'bench-plain', version: '1' });
  const plainToken = new Client({ name: 'bench-plain-token', version: '1' });
  const secure = new Client({ name: 'bench-secure', version: '1' });
  const samples = { plain: [] as number[], plainToken: [] as number[], secure: [] as number[] };
  const micro = { verify: [] as number[], verifyCached: [] as number[], rego: [] as number[], regoReused: [] as number[] };
  let rounds = 0;
  try {
    const withToken = { requestInit: { headers: { authorization: `Bearer ${token}` } } };
    await plain.connect(new StreamableHTTPClientTransport(new URL(`${base}/plain`)));
    await plainToken.connect(new StreamableHTTPClientTransport(new URL(`${base}/plain`), withToken));
    await secure.connect(new StreamableHTTPClientTransport(new URL(`${base}/secure`), withToken));
    const started = performance.now();
    const call = async (client: Client, into: number[] | undefined) => {
      const t0 = performance.now();
      const r = await client.callTool({ name: 'echo', arguments: { message: 'bench' } });
      const ms = performance.now() - t0;
      if (r.isError) throw new Error(`echo failed: ${JSON.stringify(r.content)}`);
      into?.push(ms);
    };
    for (; rounds < WARMUP + ROUNDS && performance.now() - started < BUDGET_MS; rounds++) {
      const measured = rounds >= WARMUP;
      // Rotate which client goes first, so none always runs on a just-warmed path.
      const order: Array<[Client, number[]]> = [
        [plain, samples.plain],
        [plainToken, samples.plainToken],
        [secure, samples.secure],
      ];
      for (let i = 0; i < order.length; i++) {
        const [client, into] = order[(rounds + i) % order.length];
        await call(client, measured ? into : undefined);
      }
    }

    // The two parts on their own, in process: what each costs without HTTP and MCP around it.
    const verifier = createVerifier({ issuer: ISS, audiences: [AUD], jwks: { url: jwksUrl }, baseDir: dir, path: 'bench', state: new StateStore(), logger });
    const policy = await buildRegoPolicy(authz, dir, 'bench');
    const identity = await verifier.verify(token);
    const input = {
      identity,
      request: { method: 'POST', path: '/secure', query: '', headers: { 'content-type': 'application/json' }, clientAddress: '127.0.0.1' },
      listener: 'bind0',
      route: 'secure',
      mcp: { method: 'tools/call', target: 'everything', tool: 'echo', arguments: { message: 'bench' }, listing: false },
    };
    // Distinct tokens (jti) so each one's signature is checked; then the same token, as agents send it.
    const fresh = await Promise.all(
      Array.from({ length: 500 }, (_, i) =>
        new SignJWT({ roles: ['readonly'], jti: `t${i}` }).setProtectedHeader({ alg: 'RS256', kid: 'bench-1' }).setIssuer(ISS).setAudience(AUD).setExpirationTime(now + 3600).sign(privateKey),
      ),
    );
    for (const t of fresh) {
      const t0 = performance.now();
      await verifier.verify(t);
      micro.verify.push(performance.now() - t0);
    }
    // Distinct inputs (the example reads all of input.mcp, arguments included), so each one is evaluated; then the
    // same input again, whose decision the policy reuses (it reads no clock).
    const inputs = Array.from({ length: MICRO_ROUNDS }, (_, i) => JSON.stringify({ ...input, mcp: { ...input.mcp, arguments: { message: `bench ${i}` } } }));
    const same = JSON.stringify(input);
    // Verified again: the first check fetched the key set, which starts a new key generation (see jwt-auth/keys.ts).
    await verifier.verify(token);
    for (let i = 0; i < MICRO_ROUNDS; i++) {
      let t0 = performance.now();
      if (!verifier.cached(token)) throw new Error('the bench token should be remembered');
      micro.verifyCached.push(performance.now() - t0);
      t0 = performance.now();
      if (!policy.evaluateJson(inputs[i]).allow) throw new Error('the bench input should be allowed');
      micro.rego.push(performance.now() - t0);
      t0 = performance.now();
      if (!policy.evaluateJson(same).allow) throw new Error('the bench input should be allowed');
      micro.regoReused.push(performance.now() - t0);
    }
  } finally {
    await Promise.allSettled([plain.close(), plainToken.close(), secure.close()]);
    await running.close();
    await new Promise((r) => jwksServer.close(r));
    rmSync(dir, { recursive: true, force: true });
  }
  const p50 = { plain: percentile(samples.plain, 50), plainToken: percentile(samples.plainToken, 50), secure: percentile(samples.secure, 50) };
  const p99 = { plain: percentile(samples.plain, 99), plainToken: percentile(samples.plainToken, 99), secure: percentile(samples.secure, 99) };
  // The same round's calls ran back to back, so their difference cancels most of the machine's drift.
  const paired = (a: number[], b: number[]) => percentile(a.map((v, i) => v - b[i]), 50);
  const added = us(paired(samples.secure, samples.plainToken));
  const addedWithToken = us(paired(samples.secure, samples.plain));
  return {
    title: 'Security: added cost per MCP tools/call (jwtAuth RS256 + Rego authorization)',
    rows: [
      { route: 'no policy, no token', calls: samples.plain.length, 'p50 µs': us(p50.plain), 'p99 µs': us(p99.plain) },
      { route: 'no policy, same request (token sent)', calls: samples.plainToken.length, 'p50 µs': us(p50.plainToken), 'p99 µs': us(p99.plainToken) },
      { route: 'jwtAuth + authorization', calls: samples.secure.length, 'p50 µs': us(p50.secure), 'p99 µs': us(p99.secure) },
      { route: 'added by the policies (p50 difference, same request)', calls: '', 'p50 µs': us(p50.secure - p50.plainToken), 'p99 µs': '' },
      { route: 'added by the policies (p50 of per-round differences)', calls: samples.secure.length, 'p50 µs': added, 'p99 µs': '' },
      { route: 'added with the token on the wire (p50 difference)', calls: '', 'p50 µs': us(p50.secure - p50.plain), 'p99 µs': '' },
      { route: 'added with the token on the wire (p50 of per-round differences)', calls: samples.secure.length, 'p50 µs': addedWithToken, 'p99 µs': '' },
      { route: 'in process: JWT verify, signature checked', calls: micro.verify.length, 'p50 µs': us(percentile(micro.verify, 50)), 'p99 µs': us(percentile(micro.verify, 99)) },
      { route: 'in process: JWT verify, token seen before', calls: micro.verifyCached.length, 'p50 µs': us(percentile(micro.verifyCached, 50)), 'p99 µs': us(percentile(micro.verifyCached, 99)) },
      { route: 'in process: one Rego evaluation (new input)', calls: micro.rego.length, 'p50 µs': us(percentile(micro.rego, 50)), 'p99 µs': us(percentile(micro.rego, 99)) },
      { route: 'in process: Rego decision reused (same input)', calls: micro.regoReused.length, 'p50 µs': us(percentile(micro.regoReused, 50)), 'p99 µs': us(percentile(micro.regoReused, 99)) },
    ],
    notes: [
      `added p50 per tools/call (per-round differences): ${added} µs by the policies, ${addedWithToken} µs with the token on the wire (goal <= 100 µs: ${added <= 100 ? 'met' : 'not met'}${addedWithToken <= 100 ? ', also with the token' : ''})`,
      `${rounds - WARMUP} measured rounds after ${WARMUP} warm-up rounds, clients rotated; budget ${BUDGET_MS / 1000} s.`,
      'Each secure tools/call = one JWT check (jose, RS256, JWKS cached; a token verified before is remembered until its exp, while the key set it was checked with is current) + the Rego decisions of the HTTP request and of the MCP message, on an input holding only what the policy reads; a policy that reads no clock reuses a decision for an input it has seen.',
      'The in-process Rego figures use the full input document (what a policy reading all of input gets); the example policy reads input.mcp and input.identity.{kind,roles} only.',
      'Client: the official MCP SDK over streamable HTTP; server: server-everything over stdio, one process per session.',
    ],
  };
}
