/**
 * Loaded into every test file's process (`node --test --import ./test/helpers/compile-cache.ts`): V8's compile cache
 * (with Node's TypeScript stripping cached beside it) for the product's sources, kept under node_modules/.cache.
 * Each of the ~200 test files imports most of the gateway; without the cache each one strips and compiles it again,
 * about half a second of CPU per file on this 2-core machine. Child processes the tests start (gateways, stdio MCP
 * servers) inherit the directory through NODE_COMPILE_CACHE. A stale entry is never used: Node checks each file's
 * content hash.
 */
import { enableCompileCache } from 'node:module';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('../../node_modules/.cache/portcullis-compile', import.meta.url));
if (!process.env.NODE_DISABLE_COMPILE_CACHE) {
  process.env.NODE_COMPILE_CACHE ??= dir;
  enableCompileCache(process.env.NODE_COMPILE_CACHE);
}
