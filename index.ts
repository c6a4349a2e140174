/**
 * The package root (`import ... from 'portcullis'`): the typed config surface of `sdk-types/`, and
 * `createGateway`, whose implementation is loaded on first call so that a `gateway.config.ts` importing
 * `defineConfig` loads none of the gateway.
 *
 * @example
 * import { createGateway } from 'portcullis';
 * const gateway = await createGateway('./gateway.config.ts');
 * await gateway.listen();
 */
import type { CreateGateway } from './sdk-types/gateway.ts';

export * from './sdk-types/index.ts';

// From the TypeScript sources the implementation is core/gateway/index.ts; from the JavaScript build
// (scripts/build.mjs) it is the `gateway` entry beside this bundle. A computed specifier also keeps the published
// declarations to the public types.
const implementation = import.meta.url.endsWith('.ts') ? './core/gateway/index.ts' : './gateway.mjs';

/** See {@link CreateGateway}. */
export const createGateway: CreateGateway = async (config, options) => {
  const entry = (await import(new URL(implementation, import.meta.url).href)) as { createGateway: CreateGateway };
  return entry.createGateway(config, options);
};
