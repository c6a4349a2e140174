import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const LOGGER = fileURLToPath(new URL('../../core/telemetry/logger.ts', import.meta.url));

/** Writes one line with a logger of `format` in a fresh process: its output, then whether pino-pretty was loaded. */
function probe(format: 'json' | 'pretty'): string {
  const script = `
    import { createRequire } from 'node:module';
    const { createLogger } = await import(${JSON.stringify(LOGGER)});
    createLogger({ level: 'info', format: ${JSON.stringify(format)} }).info({ probe: 1 }, 'probe line');
    const loaded = Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes('/pino-pretty/'));
    setTimeout(() => process.stdout.write(loaded ? '\\nPRETTY-LOADED\\n' : '\\nPRETTY-ABSENT\\n'), 200);
  `;
  return execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
}

describe('logger', () => {
  it('loads pino-pretty only for the pretty format: a JSON logger never holds it', () => {
    const json = probe('json');
    assert.match(json, /PRETTY-ABSENT/);
    assert.match(json, /"msg":"probe line"/);
    const pretty = probe('pretty');
    assert.match(pretty, /PRETTY-LOADED/);
    assert.match(pretty, /INFO.*probe line/);
  });
});
