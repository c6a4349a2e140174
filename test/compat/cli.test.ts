import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { configSource, send } from '../helpers/gateway.ts';
import { startCli } from '../helpers/replica.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const NODE = process.execPath;
const BIN = join(ROOT, 'core/cli/bin.mjs');
// With the flag bin.mjs needs given here, it runs the command in that one process rather than re-running itself.
const cli = (args: string[], cwd = ROOT) => spawnSync(NODE, ['--no-node-snapshot', BIN, ...args], { cwd, encoding: 'utf8', timeout: 30_000 });

describe('the CLI in a newcomer\'s first hour', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pcl-compat-cli-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('validate reports what start would fail on: a missing certificate or JWKS file, a stdio command that does not exist', async () => {
    const file = join(dir, 'missing.config.ts');
    await writeFile(
      file,
      configSource({
        binds: [
          {
            port: 0,
            listeners: [
              {
                protocol: 'HTTPS',
                tls: { cert: './nope/cert.pem', key: './nope/key.pem' },
                routes: [
                  {
                    policies: { jwtAuth: { issuer: 'me', jwks: { file: './nope/jwks.json' } } },
                    backends: [{ mcp: { targets: [{ name: 't', stdio: { cmd: 'no-such-mcp-server-xyz' } }] } }],
                  },
                ],
              },
            ],
          },
        ],
      }),
    );
    const missing = `binds[0].listeners[0].routes[0].backends[0].mcp.targets[0].stdio.cmd: command not found: "no-such-mcp-server-xyz" (not on PATH, nor a file from ${dir})`;
    const r = cli(['validate', '-c', file]);
    assert.equal(r.status, 1, r.stdout);
    assert.equal(
      r.stderr,
      [
        `warning: ${missing} (the config is valid and runs where the command exists; --strict makes this an error)`,
        `PCL_ERR_CONFIG_INVALID: invalid configuration in ${file} (3 errors):`,
        'files (3):',
        `  binds[0].listeners[0].tls.cert: file not found: ${join(dir, 'nope/cert.pem')}`,
        `  binds[0].listeners[0].tls.key: file not found: ${join(dir, 'nope/key.pem')}`,
        `  binds[0].listeners[0].routes[0].policies.jwtAuth: file not found: ${join(dir, 'nope/jwks.json')}`,
        '',
      ].join('\n'),
    );
    const strict = cli(['validate', '--strict', '-c', file]);
    assert.equal(strict.status, 1, strict.stdout);
    assert.match(strict.stderr, /^PCL_ERR_CONFIG_INVALID: invalid configuration in .* \(4 errors\):\nfiles \(4\):\n/);
    assert.ok(strict.stderr.endsWith(`  ${missing}\n`), strict.stderr);
  });

  it('a stdio command missing on this machine (uvx in agentgateway\'s mcp-multiplex) is a warning: exit 0, and 1 with --strict', async () => {
    const file = join(dir, 'uvx.yaml');
    await writeFile(file, ['binds:', '- port: 3000', '  listeners:', '  - routes:', '    - backends:', '      - mcp:', '          targets:', '          - name: time', '            stdio:', '              cmd: no-such-uvx-pcl', '              args: ["mcp-server-time"]', ''].join('\n'));
    const path = 'binds[0].listeners[0].routes[0].backends[0].mcp.targets[0].stdio.cmd';
    const r = cli(['validate', '-c', file], dir);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `${file}: valid (1 bind(s), 1 route(s))\n`);
    assert.equal(r.stderr, `warning: ${path}: command not found: "no-such-uvx-pcl" (not on PATH, nor a file from ${dir}) (the config is valid and runs where the command exists; --strict makes this an error)\n`);
    const strict = cli(['validate', '--strict', '-c', file], dir);
    assert.equal(strict.status, 1);
    assert.equal(strict.stdout, '');
    assert.equal(strict.stderr, `PCL_ERR_CONFIG_INVALID: invalid configuration in ${file} (1 error):\nfiles (1):\n  ${path}: command not found: "no-such-uvx-pcl" (not on PATH, nor a file from ${dir})\n`);
    // --strict belongs to validate: start refuses it as a usage error (exit 2).
    const start = cli(['start', '--strict', '-c', file], dir);
    assert.equal(start.status, 2);
    assert.match(start.stderr, /^--strict is an option of validate\n/);
  });

  it('a busy admin port stops start before any data port opens, naming the setting and the flag', async () => {
    const busy: Server = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const adminPort = (busy.address() as { port: number }).port;
    const file = join(dir, 'busy.config.ts');
    await writeFile(file, configSource({ admin: { address: `127.0.0.1:${adminPort}` }, readiness: { address: false }, binds: [{ port: 0, address: '127.0.0.1', listeners: [{ routes: [{ policies: { directResponse: { status: 200 } } }] }] }] }));
    try {
      const r = cli(['start', '--no-watch', '-c', file]);
      assert.equal(r.status, 1);
      assert.equal(
        r.stderr,
        `portcullis: PCL_ERR_BIND_FAILED: admin.address 127.0.0.1:${adminPort} is already in use (another Portcullis or agentgateway running?): set admin.address in the config, or pass --admin <host:port> (--admin off turns it off)\n`,
      );
      assert.ok(!r.stdout.includes('"msg":"listening"'), r.stdout);
    } finally {
      busy.close();
    }
  });

  it('every busy port (admin, readiness, stats, data) is reported at once, in one error, before any port opens', async () => {
    const held: Server[] = [];
    const hold = async () => {
      const s = createServer();
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
      held.push(s);
      return (s.address() as { port: number }).port;
    };
    const [admin, readiness, stats, data] = [await hold(), await hold(), await hold(), await hold()];
    const file = join(dir, 'all-busy.config.ts');
    const route = { routes: [{ policies: { directResponse: { status: 200 } } }] };
    await writeFile(
      file,
      configSource({
        admin: { address: `127.0.0.1:${admin}` },
        readiness: { address: `127.0.0.1:${readiness}` },
        stats: { address: `127.0.0.1:${stats}` },
        binds: [{ port: 0, address: '127.0.0.1', listeners: [route] }, { port: data, address: '127.0.0.1', listeners: [route] }],
      }),
    );
    try {
      const r = cli(['start', '--no-watch', '-c', file]);
      assert.equal(r.status, 1);
      const inUse = 'is already in use (another Portcullis or agentgateway running?)';
      assert.equal(
        r.stderr,
        [
          'portcullis: PCL_ERR_BIND_FAILED: 4 addresses cannot be listened on:',
          `  admin.address 127.0.0.1:${admin} ${inUse}: set admin.address in the config, or pass --admin <host:port> (--admin off turns it off)`,
          `  readiness.address 127.0.0.1:${readiness} ${inUse}: set readiness.address in the config, or pass --readiness <host:port> (--readiness off turns it off)`,
          `  stats.address 127.0.0.1:${stats} ${inUse}: set stats.address in the config, or pass --stats <host:port> (--stats off turns it off)`,
          `  binds[1].port 127.0.0.1:${data} ${inUse}: set binds[1].port in the config`,
          '',
        ].join('\n'),
      );
      assert.ok(!r.stdout.includes('"msg":"listening"'), r.stdout);
    } finally {
      for (const s of held) s.close();
    }
  });

  it('--admin, --readiness and --stats move (or turn off) the servers without a config edit; bad values are usage errors', async () => {
    const file = join(dir, 'flags.config.ts');
    await writeFile(file, configSource({ binds: [{ port: 0, address: '127.0.0.1', listeners: [{ routes: [{ policies: { directResponse: { status: 200, body: 'ok' } } }] }] }] }));
    const bad = cli(['start', '-c', file, '--admin', 'localhost']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /^--admin: expected host:port or off, got "localhost"\n/);

    // The data bind says "listening" first; the stats and admin servers start after it and say so themselves.
    const gw = await startCli(['start', '--no-watch', '-c', file, '--admin', '127.0.0.1:0', '--readiness', 'off', '--stats', '127.0.0.1:0'], { cwd: dir, ready: (l) => l.msg === 'admin server listening' });
    const out = gw.output();
    try {
      const stats = Number(String((await gw.waitFor((l) => l.msg === 'stats server listening')).address).split(':').at(-1));
      const admin = gw.lines().find((l) => l.msg === 'admin server listening')!.port as number;
      assert.ok(gw.lines().some((l) => l.msg === 'listening'), out);
      assert.equal((await send(`http://127.0.0.1:${admin}/config_dump`)).status, 200);
      assert.ok(!gw.output().includes('readiness server listening'), gw.output());
      const metrics = await send(`http://127.0.0.1:${stats}/metrics`);
      assert.equal(metrics.status, 200);
      assert.match(metrics.text, /^# HELP /m);
    } finally {
      await gw.cleanup();
    }
  });
});
