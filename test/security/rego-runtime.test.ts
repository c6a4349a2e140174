import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { compileRego, findOpa, loadRegoPolicy, OPA_VERSION, REPO_ROOT, RegoEvalError, TOOLS_FULL_OPA, TOOLS_OPA } from '../../core/rego/index.ts';

describe('core/rego: compile cache, host builtins, decisions', () => {
  let dir: string;
  let cacheDir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pcl-rego-'));
    cacheDir = join(dir, 'cache');
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function load(source: string, entrypoint: string, data: Record<string, unknown> = {}) {
    const file = join(dir, 'p.rego');
    await writeFile(file, source);
    const compiled = await compileRego({ files: [file], entrypoint, baseDir: dir, cacheDir });
    return { compiled, policy: await loadRegoPolicy({ wasm: compiled.wasm, entrypoint, data, sources: compiled.sources }) };
  }

  it('compiles once per content hash: unchanged Rego comes from the cache', async () => {
    const src = `package c\n\nimport rego.v1\n\nallow if input.n > ${Date.now() % 1000}\n`;
    const first = await load(src, 'c/allow');
    assert.equal(first.compiled.fromCache, false);
    const second = await load(src, 'c/allow');
    assert.equal(second.compiled.fromCache, true);
    assert.equal(second.compiled.hash, first.compiled.hash);
    const changed = await load(`${src}\n# edited\n`, 'c/allow');
    assert.equal(changed.compiled.fromCache, false);
    assert.notEqual(changed.compiled.hash, first.compiled.hash);
    assert.deepEqual(second.policy.evaluate({ n: 5000 }), { allow: true });
  });

  it('provides the host builtins policies use', async () => {
    const { policy } = await load(
      `package b

import rego.v1

decision := {"allow": true, "reason": concat(" ", [
	regex.replace(input.s, "[0-9]+", "#"),
	io.jwt.decode(input.jwt)[1].sub,
	sprintf("%d", [time.date(0)[0]]),
	time.weekday(0),
	sprintf("%v", [count(regex.find_n("a", "banana", -1))]),
	sprintf("%v", [time.parse_duration_ns("1m30s")]),
	sprintf("%v", [time.parse_rfc3339_ns("1970-01-01T00:00:01Z")]),
	crypto.sha256("abc"),
	sprintf("%v", [time.now_ns() > 0]),
])}
`,
      'b/decision',
    );
    const jwt = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"agent-7"}').toString('base64url')}.c2ln`;
    assert.deepEqual(policy.evaluate({ s: 'a1b22c333', jwt }), {
      allow: true,
      reason: 'a#b#c# agent-7 1970 Thursday 3 90000000000 1000000000 ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad true',
    });
    assert.deepEqual([...policy.builtins].sort(), [
      'crypto.sha256',
      'io.jwt.decode',
      'regex.find_n',
      'regex.replace',
      'sprintf',
      'time.date',
      'time.now_ns',
      'time.parse_duration_ns',
      'time.parse_rfc3339_ns',
      'time.weekday',
    ]);
  });

  it('treats an undefined decision or a malformed one as an evaluation error (callers deny)', async () => {
    const { policy } = await load('package d\n\nimport rego.v1\n\nallow if input.yes\n', 'd/allow');
    assert.deepEqual(policy.evaluate({ yes: true }), { allow: true });
    assert.throws(() => policy.evaluate({}), (err: any) => err instanceof RegoEvalError && err.message === 'd/allow is undefined for this input');
    const odd = await load('package e\n\nallow := "yes"\n', 'e/allow');
    assert.throws(() => odd.policy.evaluate({}), (err: any) => err instanceof RegoEvalError && err.message === 'e/allow must be a boolean or {allow, reason}, got "yes"');
    const failing = await load('package f\n\nimport rego.v1\n\nallow if regex.replace("a", "(", "b") == "b"\n', 'f/allow');
    assert.throws(() => failing.policy.evaluate({}), (err: any) => err instanceof RegoEvalError && /^evaluation of f\/allow failed: /.test(err.message));
  });

  it('finds opa on PATH or in the tools folder, and says how to install it otherwise', () => {
    const saved = process.env.PATH;
    try {
      process.env.PATH = '';
      // Where `npm install` built tools/opa-compile (else a full opa put there earlier); a machine with opa only on
      // PATH has neither, and is told how to install.
      if (existsSync(TOOLS_OPA)) assert.equal(findOpa(), TOOLS_OPA);
      else if (existsSync(TOOLS_FULL_OPA)) assert.equal(findOpa(), TOOLS_FULL_OPA);
      else assert.throws(() => findOpa(), (err: any) => err.code === 'PCL_ERR_OPA_MISSING');
    } finally {
      process.env.PATH = saved;
    }
    assert.throws(() => findOpa('/nonexistent/opa'), (err: any) => err.code === 'PCL_ERR_OPA_MISSING' && err.message.includes('builds tools/opa-compile, OPA v1.22.2'));
  });

  it('builds the compiler from the OPA version the gateway is tested with', async () => {
    const mod = await readFile(join(REPO_ROOT, 'tools', 'opa-compile', 'go.mod'), 'utf8');
    assert.match(mod, new RegExp(`^require github\\.com/open-policy-agent/opa ${OPA_VERSION.replace(/\./g, '\\.')}$`, 'm'));
    const sum = await readFile(join(REPO_ROOT, 'tools', 'opa-compile', 'go.sum'), 'utf8');
    assert.ok(sum.includes(`github.com/open-policy-agent/opa ${OPA_VERSION} h1:`), 'go.sum pins the OPA module');
  });
});
