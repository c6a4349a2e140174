import { resolve as resolvePath } from 'node:path';
import type { FilterAttachment } from '../../sdk-types/filter-policies.ts';
import { s } from '../../core/config/index.ts';
import { loadFilter, type LoadedFilter } from '../../core/filters/index.ts';
import type { PolicyDefinition } from '../../core/pipeline/index.ts';
import { createFilterStep } from './http-step.ts';
import { createFilterA2aHooks } from './a2a-hooks.ts';
import { createFilterMcpHooks } from './mcp-hooks.ts';

/** Any JSON object: the filter's own config is checked by the filter, not by the gateway. */
const jsonObject: s.Schema = {
  describe: 'object',
  check(value, path, issues) {
    if (!s.isPlainObject(value)) {
      issues.push({ path, message: `expected object, got ${s.typeName(value)}` });
      return;
    }
    try {
      JSON.stringify(value);
    } catch (err) {
      issues.push({ path, message: `must be JSON: ${(err as Error).message}` });
    }
  },
  jsonSchema: () => ({ type: 'object' }),
};

const attachment = s.object(
  {
    file: s.string({ nonEmpty: true }),
    name: s.string({ nonEmpty: true }),
    config: jsonObject,
    failureMode: s.literal('failClosed', 'failOpen'),
    timeoutMs: s.number({ integer: true, min: 1, max: 60_000 }),
    memoryLimitMb: s.number({ integer: true, min: 8, max: 1024 }),
    maxBodyBytes: s.number({ integer: true, min: 0 }),
    maxResultBytes: s.number({ integer: true, min: 1024 }),
    typeCheck: s.boolean(),
  },
  { required: ['file'] },
);

/**
 * User filters: TypeScript files bundled with esbuild and run in isolated-vm, in the sandbox process (never in the
 * gateway's). Each entry gets its own isolate;
 * `onRequest`/`onResponse` run in this step, `onMcpRequest`/`onMcpResponse` through the MCP hooks,
 * `onA2aRequest`/`onA2aResponse` through the A2A hooks.
 */
export const filters: PolicyDefinition<FilterAttachment[]> = {
  name: 'filters',
  phase: 'requestFilter',
  schema: s.array(attachment),
  files: (config, baseDir) => config.map((f) => resolvePath(baseDir, f.file)),
  async create(config, build) {
    const loaded: LoadedFilter[] = [];
    try {
      for (const [i, spec] of config.entries()) loaded.push(await loadFilter(spec, build.baseDir, `${build.path}[${i}]`, build.logger));
    } catch (err) {
      await Promise.allSettled(loaded.map((f) => f.close()));
      throw err;
    }
    return {
      step: createFilterStep(loaded),
      mcp: createFilterMcpHooks(loaded),
      a2a: createFilterA2aHooks(loaded),
      files: [...new Set(loaded.flatMap((f) => f.files))],
      async close() {
        await Promise.allSettled(loaded.map((f) => f.close()));
      },
    };
  },
};
