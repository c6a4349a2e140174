import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../core/cli/bin.mjs', import.meta.url));
const EXAMPLE = fileURLToPath(new URL('../../examples/authorization/gateway.config.ts', import.meta.url));

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

const input = (subject: string, roles: string[], tool: string) =>
  JSON.stringify({
    identity: { kind: 'apiKey', subject, roles, claims: {} },
    request: { method: 'POST', path: '/mcp', query: '', headers: {}, clientAddress: '127.0.0.1' },
    listener: 'bind3100',
    route: 'mcp',
    mcp: { method: 'tools/call', tool, listing: false },
  });

describe('portcullis policy test / eval', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pcl-policy-cli-'));
    await writeFile(join(dir, 'readonly-echo.json'), input('readonly-agent', ['readonly'], 'echo'));
    await writeFile(join(dir, 'readonly-gzip.yaml'), `# YAML works too\n${input('readonly-agent', ['readonly'], 'gzip-file-as-resource')}\n`);
    // A config whose Rego tests fail.
    await writeFile(join(dir, 'authz.rego'), 'package authz\n\nimport rego.v1\n\ndefault allow := false\n');
    await writeFile(join(dir, 'authz_test.rego'), 'package authz_test\n\nimport rego.v1\n\ntest_allows_everyone if data.authz.allow\n');
    await writeFile(
      join(dir, 'gateway.config.ts'),
      `export default { binds: [{ port: 0, listeners: [{ routes: [{ name: 'r', policies: { authorization: { rego: './authz.rego' } }, backends: [{ host: '127.0.0.1:9' }] }] }] }] };\n`,
    );
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs the Rego unit tests beside the policy of the example', async () => {
    const r = await cli(['policy', 'test', '-c', EXAMPLE]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^# routes mcp: authz\.rego, authz_test\.rego$/m);
    assert.match(r.stdout, /PASS: 6\/6/);
  });

  it('exits 1 when a Rego test fails', async () => {
    const r = await cli(['policy', 'test', '-c', join(dir, 'gateway.config.ts')]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /test_allows_everyone: FAIL/);
  });

  it('prints the decision for one input', async () => {
    const allowed = await cli(['policy', 'eval', '-c', EXAMPLE, '--input', join(dir, 'readonly-echo.json')]);
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.deepEqual(JSON.parse(allowed.stdout), { routes: ['mcp'], entrypoint: 'authz/allow', allow: true });
    const denied = await cli(['policy', 'eval', '-c', EXAMPLE, '--input', join(dir, 'readonly-gzip.yaml'), '--route', 'mcp']);
    assert.deepEqual(JSON.parse(denied.stdout), { routes: ['mcp'], entrypoint: 'authz/allow', allow: false });
  });

  it('rejects bad usage with exit 2 and says why', async () => {
    const r = await cli(['policy', 'eval', '-c', EXAMPLE]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^policy eval needs --input <file>/);
    const unknown = await cli(['policy', 'frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^unknown policy command "frobnicate"/);
    const noRoute = await cli(['policy', 'test', '-c', EXAMPLE, '--route', 'nope']);
    assert.equal(noRoute.code, 1);
    assert.match(noRoute.stderr, /no authorization policy on route "nope"/);
  });
});
