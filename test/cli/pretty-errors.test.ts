import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { MULTILINE_PRETTIFIERS } from '../../core/telemetry/logger.ts';

// `npm run dev` logs through pino-pretty with these prettifiers: a multi-line error reads as lines, not as "\n".
const { prettyFactory } = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');

describe('readable logs (portcullis dev)', () => {
  it('print a multi-line error as indented lines, and a one-line one as it is', () => {
    const pretty = prettyFactory({ colorize: false, ignore: 'pid,hostname,time', customPrettifiers: MULTILINE_PRETTIFIERS });
    const line = JSON.stringify({ level: 50, msg: 'reload failed: still serving the previous config', code: 'PCL_ERR_CONFIG_INVALID', err: 'invalid configuration in x.ts:\nbinds[0].port: expected integer, got string\nroutes[0].bogus: unknown key' });
    const out = pretty(line) as string;
    assert.ok(!out.includes('\\n'), out);
    assert.match(out, /err: \n {12}invalid configuration in x\.ts:\n {12}binds\[0\]\.port: expected integer, got string\n {12}routes\[0\]\.bogus: unknown key/);
    assert.match(pretty(JSON.stringify({ level: 30, msg: 'x', err: 'one line' })) as string, /err: one line/);
  });
});
