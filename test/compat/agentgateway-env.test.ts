import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { expandEnv } from '../../core/config/env-expand.ts';
import { echoUpstream, send, type Upstream } from '../helpers/gateway.ts';

/**
 * agentgateway runs `shellexpand::full` over the whole config text before parsing it (crates/agentgateway/src/config.rs);
 * Portcullis does the same for agentgateway-format YAML/JSON files. The rule checked here is shellexpand 3.1's.
 */
const BIN = new URL('../../core/cli/bin.mjs', import.meta.url).pathname;

describe("agentgateway's environment expansion, rule by rule", () => {
  const env = { HOST: 'api.example.com', PORT: '8443', EMPTY: '', ÄPFEL: 'apple' };
  const x = (text: string) => expandEnv(text, env);

  it('expands ${VAR} and $VAR anywhere: values, inside words, keys, comments', () => {
    assert.deepEqual(x('host: ${HOST}:$PORT\n'), { text: 'host: api.example.com:8443\n', issues: [] });
    assert.equal(x('url: https://$HOST/v1').text, 'url: https://api.example.com/v1');
    assert.equal(x('$HOST: 1 # on $PORT').text, 'api.example.com: 1 # on 8443');
    // The name is the longest run of letters, digits and `_`: `-` and `.` end it; braces delimit it.
    assert.equal(x('$HOST-x ${HOST}x $HOST.y').text, 'api.example.com-x api.example.comx api.example.com.y');
    assert.equal(x('$ÄPFEL').text, 'apple');
  });

  it('a variable set to empty expands to empty; ${VAR:-default} falls back only when VAR is unset', () => {
    assert.equal(x('a: "$EMPTY"').text, 'a: ""');
    assert.equal(x('a: ${EMPTY:-d}').text, 'a: ');
    assert.equal(x('a: ${MISSING:-fallback value}').text, 'a: fallback value');
    assert.equal(x('a: ${HOST:-fallback}').text, 'a: api.example.com');
  });

  it('$$ is a literal $; a $ not followed by a name or { is left as is (regex anchors, JSONPath, CEL)', () => {
    assert.equal(x('price: $$HOST').text, 'price: $HOST');
    assert.equal(x('regex: "^/api/v[0-9]+$"').text, 'regex: "^/api/v[0-9]+$"');
    assert.equal(x("rule: 'request.path.matches(\"^/x$\")'").text, "rule: 'request.path.matches(\"^/x$\")'");
    assert.equal(x('path: $.items[0] cost: $ 5 end$').text, 'path: $.items[0] cost: $ 5 end$');
    // `${` with no `}` anywhere after it stays; so does the editor's `$schema` hint, which agentgateway blanks first.
    assert.equal(x('a: ${HOST').text, 'a: ${HOST');
    assert.equal(x('# yaml-language-server: $schema=https://agentgateway.dev/schema/config\nb: 1').text, '#=https://agentgateway.dev/schema/config\nb: 1');
  });

  it('an unset variable is an error naming it, with its line and column; every one is reported, no value is', () => {
    const r = x('a: 1\nb: $HOST\nc: x${NOPE_ONE}\nd: [$NOPE_TWO, $1]\n');
    assert.deepEqual(r.issues.map((i) => [i.path, i.message.split(' (')[0]]), [
      ['line 3, column 5', 'environment variable NOPE_ONE is not set'],
      ['line 4, column 5', 'environment variable NOPE_TWO is not set'],
      // A regex back-reference `$1` is a variable named 1 to shellexpand: agentgateway refuses it unless set (or $$1).
      ['line 4, column 16', 'environment variable 1 is not set'],
    ]);
    assert.ok(!JSON.stringify(r.issues).includes('api.example.com'));
    // `${}` and `${:-x}` have no name: unset, as in shellexpand.
    assert.equal(x('a: ${}').issues.length, 1);
    assert.equal(x('a: ${:-x}').issues[0].message.split(' (')[0], 'environment variable :-x is not set');
  });

  it('a text starting with ~/ gets the home directory (the tilde step of shellexpand::full), nowhere else', () => {
    assert.equal(x('~/x').text, `${homedir()}/x`);
    assert.equal(x('a: ~/x').text, 'a: ~/x');
    assert.equal(x('~x').text, '~x');
  });
});

describe('an agentgateway config with $VARs, loaded by the CLI', () => {
  let upstream: Upstream;
  let dir: string;
  before(async () => {
    upstream = await echoUpstream('app');
    dir = mkdtempSync(join(tmpdir(), 'pcl-envx-'));
  });
  after(async () => {
    await upstream?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const CONFIG = [
    '# yaml-language-server: $schema=https://agentgateway.dev/schema/config',
    '# the backend comes from $UP_HOST',
    'binds:',
    '- port: ${GW_PORT:-0}',
    '  listeners:',
    '  - protocol: HTTP',
    '    routes:',
    '    - name: versioned',
    '      matches:',
    '      - path:',
    '          regex: "^/api/v[0-9]+$"',
    '      policies:',
    '        requestHeaderModifier:',
    '          add:',
    '            x-from-env: "${TEAM}-$$5"',
    '        authorization:',
    '          rules:',
    "          - 'request.path.matches(\"^/api/v[0-9]+$\")'",
    '      backends:',
    '      - host: $UP_HOST',
    '',
  ].join('\n');

  function start(file: string, env: Record<string, string>): Promise<{ url: string; stop(): Promise<void> }> {
    const child = spawn(process.execPath, [BIN, 'start', '--no-watch', '-c', file, '--admin', 'off', '--readiness', 'off', '--stats', 'off'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    const stop = async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    };
    return new Promise((resolve, reject) => {
      let out = '';
      let err = '';
      child.stderr!.on('data', (c) => (err += c));
      child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
        out += chunk;
        for (const line of out.split('\n')) {
          if (!line.startsWith('{')) continue;
          try {
            const entry = JSON.parse(line);
            if (entry.msg === 'listening') resolve({ url: `http://127.0.0.1:${entry.port}`, stop });
          } catch {
            // a partial line: wait for the rest
          }
        }
      });
      child.once('exit', (code) => reject(new Error(`exited (${code}) before listening:\n${err}\n${out}`)));
    });
  }

  for (const format of ['yaml', 'json'] as const) {
    it(`${format}: the backend, a header value and a default come from the environment; the regex and CEL $ stay`, async () => {
      const file = join(dir, `config.${format}`);
      // The JSON form: the same document, its strings carrying the same $ text.
      writeFileSync(file, format === 'yaml' ? CONFIG : JSON.stringify(yamlToObject()).replace('"port":0', '"port":${GW_PORT:-0}'));
      const gw = await start(file, { UP_HOST: upstream.host, TEAM: 'blue' });
      try {
        const r = await send(`${gw.url}/api/v2`);
        assert.equal(r.status, 200, r.text);
        assert.equal(r.json().upstream, 'app');
        assert.equal(r.json().headers['x-from-env'], 'blue-$5');
        // `$` in the path regex is still an anchor: /api/v2/more does not match the route.
        assert.equal((await send(`${gw.url}/api/v2/more`)).status, 404);
      } finally {
        await gw.stop();
      }
    });
  }

  // The YAML document above as an object, for the JSON variant (built by hand: the test must not expand it itself).
  function yamlToObject() {
    return {
      binds: [
        {
          port: 0,
          listeners: [
            {
              protocol: 'HTTP',
              routes: [
                {
                  name: 'versioned',
                  matches: [{ path: { regex: '^/api/v[0-9]+$' } }],
                  policies: {
                    requestHeaderModifier: { add: { 'x-from-env': '${TEAM}-$$5' } },
                    authorization: { rules: ['request.path.matches("^/api/v[0-9]+$")'] },
                  },
                  backends: [{ host: '$UP_HOST' }],
                },
              ],
            },
          ],
        },
      ],
    };
  }

  it('validate and start refuse an unset variable: PCL_ERR_CONFIG_INVALID, its name and line, no value printed', () => {
    const file = join(dir, 'unset.yaml');
    writeFileSync(file, CONFIG);
    const env: NodeJS.ProcessEnv = { ...process.env, TEAM: 'blue-secret-value-77' };
    delete env.UP_HOST;
    for (const cmd of [['validate', '-c', file], ['start', '--no-watch', '-c', file, '--admin', 'off', '--readiness', 'off', '--stats', 'off']]) {
      const r = spawnSync(process.execPath, [BIN, ...cmd], { encoding: 'utf8', timeout: 60_000, env });
      assert.equal(r.status, 1, `${cmd[0]}: ${r.stderr}${r.stdout}`);
      const output = r.stderr + r.stdout;
      assert.match(output, /PCL_ERR_CONFIG_INVALID/, cmd[0]);
      assert.match(output, /line 20, column 15: environment variable UP_HOST is not set/, cmd[0]);
      assert.ok(!output.includes('blue-secret-value-77'), `${cmd[0]} printed a variable's value`);
    }
  });

  it('a TypeScript config is not expanded: it reads process.env itself', () => {
    const file = join(dir, 'gateway.config.ts');
    writeFileSync(file, `export default { binds: [{ port: 0, listeners: [{ routes: [{ backends: [{ host: '$UP_HOST' }] }] }] }] };\n`);
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.UP_HOST;
    const r = spawnSync(process.execPath, [BIN, 'validate', '-c', file], { encoding: 'utf8', timeout: 60_000, env });
    // Not expanded: the schema sees the text as written (and refuses it as a host:port).
    assert.doesNotMatch(r.stderr + r.stdout, /environment variable/);
    assert.match(r.stderr, /backends\[0\]\.host: expected "host:port", got "\$UP_HOST"/);
  });
});
