// Added cost of security per MCP tools/call: one gateway, two MCP routes to the same kind of server
// (server-everything over stdio), one with no policy and one with jwtAuth (RS256, keys from a real JWKS endpoint)
// plus Rego authorization (examples/authorization's rules). Calls alternate between the routes in one run so
// drift hits both alike; the added p50 is the difference. In-process figures of each part are given beside it.
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
import { buildRegoPolicy } from '../policies/authorization/index.ts';
import { createVerifier } from '../policies/jwt-auth/index.ts';
import { percentile, type BenchSection } from './report.ts';

const ROUNDS = 1500;
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
  const running = await startPortcullis({ configFile: join(dir, 'gateway.config.ts'), policies: builtinPolicies, watch: false, logger });
  const base = `http://127.0.0.1:${running.gateway.ports()[0]}`;
  const plain = new Client({ name: 'bench-plain', version: '1' });
  const secure = new Client({ name: 'bench-secure', version: '1' });
  const samples = { plain: [] as number[], secure: [] as number[] };
  const micro = { verify: [] as number[], verifyCached: [] as number[], rego: [] as number[] };
  let rounds = 0;
  try {
    await plain.connect(new StreamableHTTPClientTransport(new URL(`${base}/plain`)));
    await secure.connect(new StreamableHTTPClientTransport(new URL(`${base}/secure`), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
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
      // Alternate which route goes first, so neither always runs on a just-warmed path.
      if (rounds % 2 === 0) {
        await call(plain, measured ? samples.plain : undefined);
        await call(secure, measured ? samples.secure : undefined);
      } else {
        await call(secure, measured ? samples.secure : undefined);
        await call(plain, measured ? samples.plain : undefined);
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
    for (let i = 0; i < MICRO_ROUNDS; i++) {
      let t0 = performance.now();
      await verifier.verify(token);
      micro.verifyCached.push(performance.now() - t0);
      t0 = performance.now();
      if (!policy.evaluate(input).allow) throw new Error('the bench input should be allowed');
      micro.rego.push(performance.now() - t0);
    }
  } finally {
    await Promise.allSettled([plain.close(), secure.close()]);
    await running.close();
    await new Promise((r) => jwksServer.close(r));
    rmSync(dir, { recursive: true, force: true });
  }
  const p50 = { plain: percentile(samples.plain, 50), secure: percentile(samples.secure, 50) };
  // The same round's two calls ran back to back, so their difference cancels most of the machine's drift.
  const paired = samples.secure.map((v, i) => v - samples.plain[i]);
  const p99 = { plain: percentile(samples.plain, 99), secure: percentile(samples.secure, 99) };
  // Per tools/call the secure route verifies the JWT once (HTTP step) and evaluates Rego twice (HTTP request, MCP message).
  return {
    title: 'Security: added cost per MCP tools/call (jwtAuth RS256 + Rego authorization)',
    rows: [
      { route: 'no policy', calls: samples.plain.length, 'p50 µs': us(p50.plain), 'p99 µs': us(p99.plain) },
      { route: 'jwtAuth + authorization', calls: samples.secure.length, 'p50 µs': us(p50.secure), 'p99 µs': us(p99.secure) },
      { route: 'added (p50 difference)', calls: '', 'p50 µs': us(p50.secure - p50.plain), 'p99 µs': '' },
      { route: 'added (p50 of per-round differences)', calls: paired.length, 'p50 µs': us(percentile(paired, 50)), 'p99 µs': '' },
      { route: 'in process: JWT verify, signature checked', calls: micro.verify.length, 'p50 µs': us(percentile(micro.verify, 50)), 'p99 µs': us(percentile(micro.verify, 99)) },
      { route: 'in process: JWT verify, token seen before', calls: micro.verifyCached.length, 'p50 µs': us(percentile(micro.verifyCached, 50)), 'p99 µs': us(percentile(micro.verifyCached, 99)) },
      { route: 'in process: one Rego evaluation', calls: micro.rego.length, 'p50 µs': us(percentile(micro.rego, 50)), 'p99 µs': us(percentile(micro.rego, 99)) },
    ],
    notes: [
      `${rounds - WARMUP} measured rounds after ${WARMUP} warm-up rounds, routes alternated; budget ${BUDGET_MS / 1000} s. Goal: added p50 <= 100 µs.`,
      'Each secure tools/call = one JWT check (jose, RS256, JWKS cached; a token already verified is trusted until min(exp, 60 s)) + two Rego evaluations (the HTTP request and the MCP message).',
      'Client: the official MCP SDK over streamable HTTP; server: server-everything over stdio, one per route.',
    ],
  };
}
