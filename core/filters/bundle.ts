import { isBuiltin } from 'node:module';
import { dirname, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Message, type Plugin } from 'esbuild';
import { ErrorCodes, GatewayError } from '../errors.ts';

const SDK_ENTRY = fileURLToPath(new URL('../../sdk-types/index.ts', import.meta.url));
const SDK_DIR = dirname(SDK_ENTRY);

/** The global the bundle leaves the module's exports in; the sandbox prelude reads it. */
export const MODULE_GLOBAL = '__pcl_module';

export interface FilterBundle {
  /** One script, no imports left. */
  code: string;
  /** The filter file and every local file it imports (not packages): what hot reload watches. */
  files: string[];
}

/**
 * Node built-ins cannot work in the sandbox (there is no Node there), so an import of one fails the build at the
 * import, with esbuild's file and line, instead of failing later at run time.
 */
const rejectNodeBuiltins: Plugin = {
  name: 'portcullis-reject-node-builtins',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (!isBuiltin(args.path) || args.path === 'portcullis') return undefined;
      return {
        errors: [
          {
            text: `"${args.path}" is a Node.js built-in module: filters run in a sandbox without Node APIs (no files, network, processes or timers). Remove the import or use a pure-JavaScript package.`,
          },
        ],
      };
    });
  },
};

/**
 * Bundles a filter file (TypeScript or JavaScript) and the pure-JavaScript packages it imports into one script
 * that assigns its exports to {@link MODULE_GLOBAL}. `portcullis` resolves to the SDK, so `defineFilter` works
 * wherever the filter lives. Errors carry esbuild's messages with file:line:column.
 */
export async function bundleFilter(file: string, where: string): Promise<FilterBundle> {
  const absolute = resolvePath(file);
  let result;
  try {
    result = await build({
      entryPoints: [absolute],
      absWorkingDir: dirname(absolute),
      bundle: true,
      write: false,
      // neutral: no Node resolution tricks and no browser shims; packages are taken by their ESM entry first.
      platform: 'neutral',
      mainFields: ['module', 'main'],
      conditions: ['import', 'default'],
      format: 'iife',
      globalName: MODULE_GLOBAL,
      target: 'es2023',
      alias: { portcullis: SDK_ENTRY },
      // Many packages branch on NODE_ENV; there is no `process` in the sandbox, so the value is inlined.
      define: { 'process.env.NODE_ENV': '"production"' },
      plugins: [rejectNodeBuiltins],
      metafile: true,
      logLevel: 'silent',
      legalComments: 'none',
    });
  } catch (err) {
    const errors = (err as { errors?: Message[] }).errors ?? [];
    const detail = errors.length > 0 ? errors.map(formatMessage).join('\n') : (err as Error).message;
    throw new GatewayError(ErrorCodes.FILTER_BUILD, `${where}: cannot bundle filter ${file}:\n${detail}`, { cause: err });
  }
  const files = Object.keys(result.metafile.inputs)
    .filter((p) => !p.includes('node_modules'))
    .map((p) => resolvePath(dirname(absolute), p))
    .filter((p) => !p.startsWith(SDK_DIR));
  return { code: result.outputFiles[0].text, files };
}

function formatMessage(m: Message): string {
  const loc = m.location ? `${m.location.file}:${m.location.line}:${m.location.column + 1}: ` : '';
  return `${loc}${m.text}`;
}
