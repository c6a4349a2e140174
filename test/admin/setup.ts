import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EVERYTHING } from '../helpers/mcp.ts';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const AUTHZ_DIR = fileURLToPath(new URL('../../examples/authorization/policy/', import.meta.url));
/** The demo keys of examples/authorization (only their SHA-256 is in the config). */
export const READONLY_KEY = 'ro-demo-6f1c2a9e4b7d';
export const INGEST_KEY = 'ingest-demo-3b8e5d1f0a2c';

/** Builds the UI when this checkout has not built it yet (npm install does it; a fresh worktree may not have). */
export function ensureUiBuilt(): void {
  if (existsSync(`${REPO}ui/dist/index.html`)) return;
  execFileSync(process.execPath, [`${REPO}scripts/build-ui.mjs`], { stdio: 'inherit', timeout: 120_000 });
}

/**
 * A gateway.config.ts with the admin server on a free loopback port, and one MCP route: server-everything behind
 * API keys and the Rego rules of examples/authorization (readonly-agent may call `echo`, data-ingest-agent not).
 * Its stdio target keeps no warm pool (each warm server-everything is a Node child, and the pool grows under a
 * burst of sessions) unless `warmPool` is true, which leaves the default pool (a test that needs a process running).
 */
export function adminConfig(options: { admin?: Record<string, unknown>; broken?: boolean; extraRoutes?: unknown[]; warmPool?: boolean } = {}): string {
  const config = {
    admin: { address: '127.0.0.1:0', ...options.admin },
    readiness: { address: false },
    stats: { address: false },
    binds: [
      {
        port: 0,
        address: '127.0.0.1',
        listeners: [
          {
            routes: [
              {
                name: 'mcp',
                matches: [{ path: { pathPrefix: '/mcp' } }],
                policies: {
                  apiKey: {
                    keys: [
                      { name: 'readonly-agent', sha256: '0894c22351444c12ae8840d45723f64142bbe9ceaa766590ce76cc30a50611d2', roles: ['readonly'] },
                      { name: 'data-ingest-agent', sha256: 'b3d9c0778d354e372cbcda18b8720efa4e8dfff23969b39046821193390cb66f', roles: ['ingest'] },
                    ],
                  },
                  authorization: { rego: `${AUTHZ_DIR}authz.rego`, data: `${AUTHZ_DIR}roles.yaml` },
                },
                backends: [{ mcp: { targets: [{ name: 'everything', stdio: { cmd: process.execPath, args: [EVERYTHING, 'stdio'], env: { SECRET_VALUE: 'never-shown-9f8e' }, ...(options.warmPool ? {} : { warmPool: 0 }) } }] } }],
              },
              ...(options.extraRoutes ?? []),
              { name: 'welcome', matches: [{ path: { exact: '/' } }], policies: { directResponse: { status: 200, body: 'hi' } } },
            ],
          },
        ],
      },
    ],
  };
  const text = JSON.stringify(config, null, 2);
  return `import { defineConfig } from 'portcullis';\nexport default defineConfig(${options.broken ? text.slice(0, -2) : text});\n`;
}
