import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { getLanguageService } from 'yaml-language-server';
import { stringify } from 'yaml';

/**
 * What a YAML user sees: the real yaml-language-server (the engine of VS Code's YAML extension and of most editors'
 * YAML support), in process, reading the committed JSON Schema through the `# yaml-language-server: $schema=` line
 * docs/config-schema.md tells users to write.
 */

const ROOT = new URL('../../', import.meta.url);
const MODELINE = '# yaml-language-server: $schema=../../schema/portcullis.config.schema.json\n';
const ls = getLanguageService({
  schemaRequestService: (uri) => readFile(fileURLToPath(uri), 'utf8'),
  workspaceContext: { resolveRelativePath: (relative, resource) => new URL(relative, resource).href },
});
ls.configure({ validate: true, hover: true, completion: true });

let opened = 0;
/**
 * A YAML document as if opened from examples/<dir>/, so the modeline's relative path finds the schema. Each gets
 * its own name: the language service caches a parsed document by URI and version.
 */
function open(text: string): TextDocument {
  return TextDocument.create(new URL(`examples/editor/gateway-${++opened}.yaml`, ROOT).href, 'yaml', 1, MODELINE + text);
}
async function diagnostics(doc: TextDocument): Promise<string[]> {
  return (await ls.doValidation(doc, false)).map((d) => `${d.range.start.line}: ${d.message}`).sort();
}

describe('yaml-language-server with the committed schema', () => {
  it('reports nothing on any example config written as YAML', async () => {
    const dirs = readdirSync(new URL('examples/', ROOT)).filter((d) => existsSync(join(fileURLToPath(ROOT), 'examples', d, 'gateway.config.ts')));
    assert.ok(dirs.length >= 10);
    for (const dir of dirs) {
      const mod = (await import(pathToFileURL(join(fileURLToPath(ROOT), 'examples', dir, 'gateway.config.ts')).href)) as { default: unknown };
      const value = typeof mod.default === 'function' ? await (mod.default as () => unknown)() : mod.default;
      assert.deepEqual(await diagnostics(open(stringify(JSON.parse(JSON.stringify(value))))), [], dir);
    }
  });

  it('flags an unknown key, a wrong type and a malformed address on their lines, in words', async () => {
    const text = [
      'binds:',
      '  - port: 8080',
      '    bogus: 1',
      '    listeners:',
      '      - routes:',
      '          - policies:',
      "              cors: { allowOrigins: '*' }",
      '            backends:',
      '              - host: nohost',
      '',
    ].join('\n');
    assert.deepEqual(await diagnostics(open(text)), [
      '3: Property bogus is not allowed.',
      '7: Incorrect type. Expected "array".',
      '9: expected "host:port"',
    ]);
  });

  it('shows the JSDoc of sdk-types on hover', async () => {
    const doc = open('binds:\n  - port: 8080\n    listeners:\n      - routes:\n          - policies:\n              cors: {}\n            backends: [{ host: "a:1" }]\n');
    const hover = await ls.doHover(doc, { line: 6, character: 16 });
    const text = JSON.stringify(hover?.contents);
    assert.match(text, /CORS, with preflight answered by the gateway/);
  });
});
