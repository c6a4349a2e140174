import { isBuiltin } from 'node:module';
import { dirname, resolve as resolvePath } from 'node:path';
import { build, type Plugin } from 'esbuild';
import { esbuildFailure, localInputs, SDK_ENTRY } from '../config/esbuild.ts';
import { ErrorCodes, GatewayError } from '../errors.ts';


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
    throw new GatewayError(ErrorCodes.FILTER_BUILD, `${where}: cannot bundle filter ${file}:\n${esbuildFailure(err)}`, { cause: err });
  }
  const files = localInputs(result.metafile, dirname(absolute));
  return { code: result.outputFiles[0].text, files };
}
