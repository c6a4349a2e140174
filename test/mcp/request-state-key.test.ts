import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

// Request state and list cursors are opened by whichever worker or replica the retry reaches: their HMAC key comes
// from the session key every process of a deployment shares. Each case runs in a process of its own, as replicas do.
const MODULE = fileURLToPath(new URL('../../core/backends/mcp/request-state.ts', import.meta.url));
const binding = { owner: 'key:agent-a', method: 'tools/call', name: 'ask' };

function inProcess(env: Record<string, string>, code: string): string {
  const script = `import { sealState, openState } from ${JSON.stringify(MODULE)}; const b = ${JSON.stringify(binding)}; ${code}`;
  return execFileSync(process.execPath, ['--input-type=module', '-e', script], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8' }).trim();
}

describe('MCP request state across processes', () => {
  const key = randomBytes(32).toString('base64');
  const other = randomBytes(32).toString('base64');
  const sealed = inProcess({ PORTCULLIS_SESSION_KEY: key }, `process.stdout.write(sealState(b, 'inner'))`);
  const open = (env: Record<string, string>) => inProcess(env, `process.stdout.write(JSON.stringify(openState(${JSON.stringify(sealed)}, b)))`);

  it('opens in another process with the same session key', () => {
    assert.deepEqual(JSON.parse(open({ PORTCULLIS_SESSION_KEY: key })), { inner: 'inner' });
  });
  it('opens during a rotation, where the sealing key is now the previous one', () => {
    assert.deepEqual(JSON.parse(open({ PORTCULLIS_SESSION_KEY: other, PORTCULLIS_SESSION_KEY_PREVIOUS: key })), { inner: 'inner' });
  });
  it('is refused under another key, and with no key (a random one)', () => {
    assert.deepEqual(JSON.parse(open({ PORTCULLIS_SESSION_KEY: other })), { refused: 'its integrity check failed' });
    assert.deepEqual(JSON.parse(open({})), { refused: 'its integrity check failed' });
  });
});
