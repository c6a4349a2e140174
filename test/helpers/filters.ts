import { fileURLToPath } from 'node:url';
import type { FilterAttachment } from '../../sdk-types/index.ts';
import { EVERYTHING } from './mcp.ts';

/** The absolute path of a filter fixture in test/fixtures/filters/. */
export const filterFixture = (name: string) => fileURLToPath(new URL(`../fixtures/filters/${name}`, import.meta.url));

/** An HTTP route at `prefix` to `host`, with a filter list (or none). */
export const filterRoute = (name: string, prefix: string, filters: FilterAttachment[] | undefined, host: string) => ({
  name,
  matches: [{ path: { pathPrefix: prefix } }],
  policies: filters ? { filters } : {},
  backends: [{ host }],
});

/**
 * An MCP route at `/<name>` serving server-everything over stdio, with the given policies. No warm pool: one process
 * per session, started when the session opens (a pool grows under sessions opened in a row, each spare a process).
 */
export const everythingRoute = (name: string, policies: Record<string, unknown>) => ({
  name,
  matches: [{ path: { pathPrefix: `/${name}` } }],
  policies,
  backends: [{ mcp: { targets: [{ name: 'everything', stdio: { cmd: process.execPath, args: [EVERYTHING, 'stdio'], warmPool: 0 } }] } }],
});
