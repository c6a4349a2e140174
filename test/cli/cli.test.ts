import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { configSource, send, startUpstream, type Upstream } from '../helpers/gateway.ts';
import { withHeldPortRetry } from '../helpers/held-ports.ts';
import { listenPort, startCli, until } from '../helpers/replica.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const NODE = process.execPath;
const BIN = join(ROOT, 'core/cli/bin.mjs');
type Ran = { status: number | null; stdout: string; stderr: string };
/**
 * One-shot commands the tests of a describe run, run beforehand all together through the CLI's own `main` in one
 * process (test/compat/cli-batch.ts): the gateway is loaded once, not once per command. `cli` answers from these,
 * and runs the real CLI for anything not fetched; the start tests and `wrapped` prove the bin.mjs wiring.
 */
const fetched = new Map<string, Ran>();
const key = (args: string[], cwd: string) => JSON.stringify([args, cwd]);
function prefetch(jobs: Array<[string[], string?]>): void {
  const list = jobs.map(([args, cwd = ROOT]) => ({ args, cwd }));
  const r = spawnSync(NODE, ['--no-node-snapshot', join(ROOT, 'test/compat/cli-batch.ts'), JSON.stringify(list)], { cwd: ROOT, encoding: 'utf8', timeout: 60_000, maxBuffer: 16 << 20 });
  assert.equal(r.status, 0, r.stderr);
  (JSON.parse(r.stdout) as Ran[]).forEach((ran, i) => fetched.set(key(list[i].args, list[i].cwd), ran));
}
// With the flag bin.mjs needs given here, it runs the command in that one process rather than re-running itself;
// `wrapped` goes through the re-run, as a user's `portcullis ...` does.
const cli = (args: string[], cwd = ROOT): Ran => fetched.get(key(args, cwd)) ?? spawnSync(NODE, ['--no-node-snapshot', BIN, ...args], { cwd, encoding: 'utf8', timeout: 30_000 });
const wrapped = (args: string[], cwd = ROOT) => spawnSync(NODE, [BIN, ...args], { cwd, encoding: 'utf8', timeout: 30_000 });

describe('portcullis validate', () => {
  let badDir: string;
  let manyDir: string;
  before(async () => {
    badDir = await mkdtemp(join(tmpdir(), 'pcl-cli-'));
    await writeFile(join(badDir, 'bad.yaml'), 'binds:\n- port: "3000"\n  listeners:\n  - routes:\n    - backends: [{ host: "127.0.0.1:1" }]\n');
    manyDir = await mkdtemp(join(tmpdir(), 'pcl-cli-'));
    await writeFile(
      join(manyDir, 'bad.yaml'),
      [
        'binds:',
        '- port: "3000"',
        '  listeners:',
        '  - routes:',
        '    - name: a',
        '      backends: [{ host: "127.0.0.1:1" }]',
        '    - name: a',
        '      backends:',
        '      - mcp: { targets: [{ name: t, stdio: { cmd: no-such-command-pcl } }] }',
        '      - mcp: { targets: [{ name: u, stdio: { cmd: node } }] }',
        '    - name: b',
        '      policies: { authorization: { rego: missing.rego } }',
        '      backends: [{ host: "127.0.0.1:1", bogus: 1 }]',
        '',
      ].join('\n'),
    );
    prefetch([
      [['validate', '-f', 'test/fixtures/config/seed-basic.yaml']],
      [['validate', '-c', join(badDir, 'bad.yaml')]],
      [['validate', '-c', join(manyDir, 'bad.yaml')], manyDir],
      [['validate']],
      [['policy', 'test', '-c', 'no/such.config.ts']],
      [['policy', '--help']],
      [['frobnicate']],
      [['--bogus']],
      [['--help']],
      [['validate', 'extra']],
    ]);
  });

  it('exits 0 on the seed basic config', () => {
    const r = cli(['validate', '-f', 'test/fixtures/config/seed-basic.yaml']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'test/fixtures/config/seed-basic.yaml: valid (1 bind(s), 1 route(s))\n');
  });
  it('exits 1 naming the field with a wrong type', async () => {
    const dir = badDir;
    const r = cli(['validate', '-c', join(dir, 'bad.yaml')]);
    assert.equal(r.status, 1);
    assert.equal(r.stderr, `PCL_ERR_CONFIG_INVALID: invalid configuration in ${join(dir, 'bad.yaml')} (1 error):\nschema (1):\n  binds[0].port: expected integer, got string\n`);
  });
  it('reports every error of every check in one run, grouped by check', async () => {
    const dir = manyDir;
    const config = join(dir, 'bad.yaml');
    const r = cli(['validate', '-c', config], dir);
    assert.equal(r.status, 1);
    const route = 'binds[0].listeners[0].routes';
    assert.equal(
      r.stderr,
      [
        `warning: ${route}[1].backends[0].mcp.targets[0].stdio.cmd: command not found: "no-such-command-pcl" (not on PATH, nor a file from ${dir}) (the config is valid and runs where the command exists; --strict makes this an error)`,
        `PCL_ERR_CONFIG_INVALID: invalid configuration in ${config} (5 errors):`,
        'schema (2):',
        '  binds[0].port: expected integer, got string',
        `  ${route}[2].backends[0].bogus: unknown key (expected one of: host, mcp, a2a, weight)`,
        'backends (1):',
        `  ${route}[1].backends: a route serves one MCP backend (put every server in its targets), got 2`,
        'names (1):',
        `  ${route}[1].name: duplicate route name "a" is already used by routes[0] of this listener`,
        'files (1):',
        `  ${route}[2].policies.authorization: file not found: ${join(dir, 'missing.rego')}`,
        '',
      ].join('\n'),
    );
  });
  it('validates the default gateway.config.ts when no file is given', () => {
    const r = cli(['validate']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^gateway\.config\.ts: valid/);
  });
  it('policy subcommands say which config file is missing', () => {
    const r = cli(['policy', 'test', '-c', 'no/such.config.ts']);
    assert.equal(r.status, 1);
    assert.equal(r.stderr, `no config file ${join(ROOT, 'no/such.config.ts')}: pass -c <file>\n`);
    assert.match(cli(['policy', '--help']).stdout, /portcullis policy/);
  });

  it('rejects unknown commands and options with usage', () => {
    const r = cli(['frobnicate']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /unknown command "frobnicate"/);
    assert.equal(cli(['--bogus']).status, 2);
    assert.match(cli(['--help']).stdout, /^Usage: portcullis/);
    const extra = cli(['validate', 'extra']);
    assert.equal(extra.status, 2);
    assert.match(extra.stderr, /^validate takes no arguments, got "extra"\n\nUsage: portcullis validate/);
  });
});

describe('portcullis answers: version, help, per-command help, an old Node', () => {
  const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  before(() => {
    const commands = ['start', 'dev', 'validate'];
    prefetch([
      [['--version']],
      [['-v']],
      [['version']],
      [['help']],
      ...commands.flatMap((c): Array<[string[]]> => [[['help', c]], [[c, '--help']]]),
      [['help', 'policy']],
      [['help', 'frobnicate']],
    ]);
  });
  it('--version, -v and version print the version and exit 0', () => {
    for (const args of [['--version'], ['-v'], ['version']]) {
      const r = cli(args);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, `portcullis ${version}\n`);
    }
  });
  it('help lists the commands and the exit codes; help <command> and <command> --help print that command', () => {
    const all = cli(['help']);
    assert.equal(all.status, 0);
    assert.match(all.stdout, /^Usage: portcullis \[command\]/);
    assert.match(all.stdout, /Exit codes:\n  0 .*\n  1 .*\n  2 /);
    for (const command of ['start', 'dev', 'validate']) {
      const viaHelp = cli(['help', command]);
      const viaFlag = cli([command, '--help']);
      assert.equal(viaHelp.status, 0);
      assert.equal(viaFlag.status, 0);
      assert.equal(viaHelp.stdout, viaFlag.stdout);
      assert.ok(viaHelp.stdout.startsWith(`Usage: portcullis ${command} [options]`), viaHelp.stdout);
    }
    assert.match(cli(['validate', '--help']).stdout, /schema .*\n.*backends .*\n.*names .*\n.*files /);
    assert.match(cli(['help', 'policy']).stdout, /^Usage: portcullis policy/);
    const unknown = cli(['help', 'frobnicate']);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /^no such command "frobnicate" \(commands: start, dev, validate, policy, help, version\)/);
  });
  it('on a Node older than 24, says which version it needs and how to run the pinned one, without a stack trace', () => {
    // The machine's own Node (Debian's) is older than 24; the test needs one to check what a user with it sees.
    const old = ['/usr/bin/node', '/usr/local/bin/node'].find((f) => existsSync(f) && Number(spawnSync(f, ['-p', 'process.versions.node.split(".")[0]'], { encoding: 'utf8' }).stdout.trim()) < 24);
    assert.ok(old, 'no Node older than 24 at /usr/bin/node or /usr/local/bin/node to run the check with');
    const r = spawnSync(old, [BIN, 'start'], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 1);
    const ver = spawnSync(old, ['-p', 'process.version'], { encoding: 'utf8' }).stdout.trim();
    assert.equal(
      r.stderr,
      `portcullis needs Node.js 24 or newer; this is ${ver}.\nIn this checkout, npm runs the pinned Node 24: "npm start", "npm run dev", or "node_modules/.bin/node core/cli/bin.mjs start".\n`,
    );
  });
});

describe('portcullis start: readiness, admin and graceful shutdown', () => {
  let up: Upstream;
  let dir: string;
  before(async () => {
    up = await startUpstream((req, res) => {
      if (req.url === '/slow') setTimeout(() => res.end('slow finished'), 1500);
      else res.end('ok');
    });
    dir = await mkdtemp(join(tmpdir(), 'pcl-cli-'));
  });
  after(() => up.close());

  it('serves, reports ready, dumps the config without secrets, and drains an in-flight request on SIGTERM', async () => {
    await writeFile(
      join(dir, 'gateway.config.ts'),
      configSource({
        admin: { address: '127.0.0.1:0' },
        readiness: { address: '127.0.0.1:0' },
        stats: { address: false },
        shutdown: { drainTimeoutMs: 5000 },
        binds: [
          {
            port: 0,
            address: '127.0.0.1',
            listeners: [
              {
                routes: [
                  { backends: [{ host: up.host }], policies: { requestHeaderModifier: { set: { authorization: 'Bearer backend-secret-123' } } } },
                  { name: 'mcp', matches: [{ path: { pathPrefix: '/mcp' } }], backends: [{ mcp: { targets: [{ name: 't', stdio: { cmd: 'x', env: { API_TOKEN: 'tok-456' } } }] } }] },
                ],
              },
            ],
          },
        ],
      }),
    );
    const gw = await startCli(['start', '--no-watch'], { cwd: dir, nodeArgs: [] });
    const out = () => gw.output();
    const portOf = async (msg: string) => (await gw.waitFor((l) => l.msg === msg, 20_000, `the "${msg}" line`)).port as number;
    try {
      const port = await listenPort(gw);
      const admin = await portOf('admin server listening');
      const ready = await portOf('readiness server listening');
      assert.equal((await send(`http://127.0.0.1:${ready}/healthz/ready`)).status, 200);
      const dump = await send(`http://127.0.0.1:${admin}/config_dump`);
      assert.equal(dump.status, 200);
      assert.ok(!dump.text.includes('backend-secret-123') && !dump.text.includes('tok-456'), dump.text);
      assert.equal(dump.json().binds[0].listeners[0].routes[0].policies.requestHeaderModifier.set.authorization, '[redacted]');

      const seen = up.seen.length;
      const inflight = send(`http://127.0.0.1:${port}/slow`);
      await until(() => up.seen.length > seen, { what: 'the slow request at the upstream' });
      gw.child.kill('SIGTERM');
      const res = await inflight;
      assert.equal(res.status, 200);
      assert.equal(res.text, 'slow finished');
      assert.equal(await gw.exited, 0);
      assert.match(out(), /"msg":"shutting down: draining in-flight requests"/);
      assert.match(out(), /"msg":"stopped"/);
      assert.ok(!out().includes('backend-secret-123'));
    } finally {
      await gw.cleanup();
    }
  });

  it('shuts the gateway down when its CLI wrapper is killed outright, leaving no orphan', async () => {
    await writeFile(join(dir, 'orphan.config.ts'), configSource({ admin: { address: false }, readiness: { address: false }, stats: { address: false }, binds: [{ port: 0, address: '127.0.0.1', listeners: [{ routes: [{ policies: { directResponse: { status: 200 } } }] }] }] }));
    // Started without --no-node-snapshot, so bin.mjs re-runs itself: the wrapper is this child, the gateway its child.
    const gw = await startCli(['start', '--no-watch', '-c', 'orphan.config.ts'], { cwd: dir, nodeArgs: [], ready: (l) => l.msg === 'listening' });
    const wrapper = gw.child;
    const gatewayPid = gw.lines().find((l) => l.msg === 'listening')!.pid as number;
    assert.notEqual(gatewayPid, wrapper.pid);
    // The gateway holds the wrapper's stdout too: the pipes close when it is gone.
    await gw.cleanup();
    const alive = () => {
      try {
        process.kill(gatewayPid, 0);
        return true;
      } catch {
        return false;
      }
    };
    await until(() => !alive(), { what: `gateway ${gatewayPid} to stop after its wrapper` }).catch(() => undefined);
    assert.equal(alive(), false, `gateway ${gatewayPid} outlived its wrapper`);
  });

  it('takes the log format and level from the config', async () => {
    // At level warn the gateway logs nothing, not even its port: it is told one in advance.
    const run = (logging: object) =>
      withHeldPortRetry(
        async (port) => {
          await writeFile(
            join(dir, 'logging.config.ts'),
            configSource({ logging, admin: { address: false }, readiness: { address: false }, stats: { address: false }, binds: [{ port, address: '127.0.0.1', listeners: [{ routes: [{ policies: { directResponse: { status: 200 } } }] }] }] } as any),
          );
          const gw = await startCli(['start', '--no-watch', '-c', 'logging.config.ts'], { cwd: dir });
          try {
            await until(async () => gw.child.exitCode !== null || (await send(`http://127.0.0.1:${port}/`).then((r) => r.status, () => 0)) === 200, { timeoutMs: 20_000, what: 'the gateway to answer' });
            if (gw.child.exitCode !== null) throw new Error(gw.output());
            gw.child.kill('SIGTERM');
            assert.equal(await gw.exited, 0);
            return gw.stdout();
          } finally {
            await gw.cleanup();
          }
        }
      );
    const pretty = await run({ format: 'pretty' });
    const line = pretty.split('\n').find((l) => l.includes('INFO: listening'));
    assert.ok(line, pretty);
    assert.throws(() => JSON.parse(line!));
    const quiet = await run({ level: 'warn' });
    assert.equal(quiet, '', 'nothing below warn is written');
  });

  it('exits 1 with a clear message when the port is taken', async () => {
    await writeFile(join(dir, 'clash.config.ts'), configSource({ admin: { address: false }, readiness: { address: false }, stats: { address: false }, binds: [{ port: up.port, address: '127.0.0.1', listeners: [{ routes: [{ policies: { directResponse: { status: 200 } } }] }] }] }));
    const r = wrapped(['start', '--no-watch', '-c', 'clash.config.ts'], dir);
    assert.equal(r.status, 1);
    assert.equal(
      r.stderr,
      `portcullis: PCL_ERR_BIND_FAILED: binds[0].port 127.0.0.1:${up.port} is already in use (another Portcullis or agentgateway running?): set binds[0].port in the config\n`,
    );
  });
});
