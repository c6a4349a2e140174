import { dirname, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Message, Metafile } from 'esbuild';

/** The SDK's entry: user code imports `portcullis`, and the bundler points it here. */
export const SDK_ENTRY = fileURLToPath(new URL('../../sdk-types/index.ts', import.meta.url));
const SDK_DIR = dirname(SDK_ENTRY);

/** esbuild's errors as `file:line:column: text` lines, or the thrown message when it gave none. */
export function esbuildFailure(err: unknown): string {
  const errors = (err as { errors?: Message[] }).errors ?? [];
  if (errors.length === 0) return (err as Error).message;
  return errors
    .map((m) => `${m.location ? `${m.location.file}:${m.location.line}:${m.location.column + 1}: ` : ''}${m.text}`)
    .join('\n');
}

/**
 * The user's own files a bundle was built from, as absolute paths: what hot reload watches. Packages and
 * Portcullis' SDK do not change under a running gateway, so they are left out.
 */
export function localInputs(metafile: Metafile, workingDir: string): string[] {
  return Object.keys(metafile.inputs)
    .filter((p) => !p.includes('node_modules'))
    .map((p) => resolvePath(workingDir, p))
    .filter((p) => !p.startsWith(SDK_DIR));
}
