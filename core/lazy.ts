import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * A package loaded on first use instead of at startup. Several dependencies weigh megabytes once loaded (ioredis,
 * the OpenAPI parser and validator, the CEL interpreter, YAML) and most configs never use them: the idle gateway
 * pays only for what its config asks for. Synchronous (node's `require` loads both CommonJS and ES modules), so a
 * caller on a synchronous path can use it too.
 *
 * @example
 * const ioredis = lazy<typeof import('ioredis')>('ioredis');
 * const client = new (ioredis().Redis)(url);
 */
export function lazy<T>(specifier: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= require(specifier) as T);
}
