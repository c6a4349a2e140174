import { basename, extname, resolve as resolvePath } from 'node:path';
import { ErrorCodes, GatewayError, type ErrorCode } from '../errors.ts';
import { Sandbox, SandboxError, type SandboxFailureKind } from '../sandbox/index.ts';
import { publish, sandboxChannel, type Logger } from '../telemetry/index.ts';
import type { FilterAttachment } from '../../sdk-types/filter-policies.ts';
import { bundleFilter } from './bundle.ts';
import { typeCheckFilter } from './typecheck.ts';

/** How a filter is attached: the file, its config values, and its limits (the public config type). */
export type FilterSpec = FilterAttachment;

/** Defaults chosen so a trivial filter costs microseconds and a runaway one is cut before a client notices. */
export const FILTER_DEFAULTS = {
  failureMode: 'failClosed',
  timeoutMs: 50,
  memoryLimitMb: 32,
  maxBodyBytes: 1024 * 1024,
  maxResultBytes: 4 * 1024 * 1024,
} as const;

export type FilterHook = 'onRequest' | 'onResponse' | 'onMcpRequest' | 'onMcpResponse' | 'onA2aRequest' | 'onA2aResponse';

/** A bundled filter running in its sandbox. */
export interface LoadedFilter {
  readonly name: string;
  readonly file: string;
  readonly failOpen: boolean;
  readonly maxBodyBytes: number;
  /** Local files the bundle was built from. */
  readonly files: readonly string[];
  readonly sandbox: Sandbox;
  has(hook: FilterHook): boolean;
  /** Runs a hook; its log lines go to `log`, with `tags`. Failures are GatewayErrors with the filter's codes. */
  run(hook: FilterHook, input: unknown, log?: Logger, tags?: Record<string, unknown>): Promise<unknown>;
  close(): Promise<void>;
}

const FAILURE_CODES: Record<SandboxFailureKind, ErrorCode> = {
  timeout: ErrorCodes.FILTER_TIMEOUT,
  memory: ErrorCodes.FILTER_MEMORY_LIMIT,
  tooLarge: ErrorCodes.FILTER_RESULT_TOO_LARGE,
  threw: ErrorCodes.FILTER_FAILED,
  unavailable: ErrorCodes.FILTER_FAILED,
  crashed: ErrorCodes.FILTER_CRASHED,
};

/**
 * Bundles the filter file and starts its sandbox. `where` names the config path for messages; a bundling or
 * loading error is PCL_ERR_FILTER_BUILD, so a reload with a broken filter keeps the previous runtime.
 */
export async function loadFilter(spec: FilterSpec, baseDir: string, where: string, logger?: Logger): Promise<LoadedFilter> {
  const file = resolvePath(baseDir, spec.file);
  const bundle = await bundleFilter(file, `${where}.file`);
  const checked = spec.typeCheck === false ? undefined : typeCheckFilter(file);
  const fallbackName = spec.name ?? basename(file, extname(file));
  let sandbox: Sandbox;
  try {
    sandbox = await Sandbox.create({
      code: bundle.code,
      config: spec.config ?? {},
      name: fallbackName,
      memoryLimitMb: spec.memoryLimitMb ?? FILTER_DEFAULTS.memoryLimitMb,
      timeoutMs: spec.timeoutMs ?? FILTER_DEFAULTS.timeoutMs,
      maxResultBytes: spec.maxResultBytes ?? FILTER_DEFAULTS.maxResultBytes,
      logger,
      onReplace: (reason) => logger?.warn({ filter: fallbackName, reason }, 'filter sandbox replaced after breaking a limit'),
    });
  } catch (err) {
    throw new GatewayError(ErrorCodes.FILTER_BUILD, `${where}.file: cannot load filter ${spec.file}: ${(err as Error).message}`, { cause: err });
  }
  const types = await checked;
  if (types?.ok === false) {
    await sandbox.close();
    throw new GatewayError(ErrorCodes.FILTER_BUILD, `${where}.file: type errors in filter ${spec.file}:\n${types.errors.join('\n')}`);
  }
  if (types?.ok === 'skipped') logger?.debug({ file, reason: types.reason }, 'filter not type-checked');
  const name = spec.name ?? sandbox.filterName ?? fallbackName;
  const writeLogs = (log: Logger | undefined, lines: Array<{ message: string; fields?: Record<string, unknown> }>, tags?: Record<string, unknown>) => {
    for (const l of lines) log?.info({ ...tags, filter: name, fields: l.fields }, l.message);
  };
  return {
    name,
    file,
    failOpen: (spec.failureMode ?? FILTER_DEFAULTS.failureMode) === 'failOpen',
    maxBodyBytes: spec.maxBodyBytes ?? FILTER_DEFAULTS.maxBodyBytes,
    files: bundle.files,
    sandbox,
    has: (hook) => sandbox.hooks.has(hook),
    async run(hook, input, log, tags) {
      const route = typeof tags?.route === 'string' ? tags.route : undefined;
      try {
        const result = await sandbox.call(hook, input, route);
        if (result.logs.length > 0) writeLogs(log, result.logs, tags);
        return result.value;
      } catch (err) {
        if (!(err instanceof SandboxError)) throw err;
        writeLogs(log, err.logs, tags);
        const code = FAILURE_CODES[err.kind];
        publish(sandboxChannel, () => ({ filter: name, route, kind: 'failure' as const, errorCode: code, message: err.message }));
        throw new GatewayError(code, `filter "${name}" failed: ${err.message}`, { cause: err });
      }
    },
    close: () => sandbox.close(),
  };
}
