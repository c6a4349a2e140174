// Observability in one place: Prometheus metrics on 127.0.0.1:15420/metrics, OpenTelemetry traces to a local Jaeger
// (OTLP on 127.0.0.1:3401, see jaeger.yaml), Langfuse when its keys are in the environment, and an audit line per
// authorization decision. The gateway serves server-everything over MCP at http://127.0.0.1:3400/mcp, behind an
// API key (`x-api-key: demo-key`, caller "demo-agent").
// Run from the repository root: `npx portcullis -c examples/telemetry/gateway.config.ts` (see docs/observability.md).
import { createHash } from 'node:crypto';
import { defineConfig } from 'portcullis';

export default defineConfig(() => ({
  binds: [
    {
      port: 3400,
      address: '127.0.0.1',
      listeners: [
        {
          routes: [
            {
              name: 'mcp',
              policies: {
                apiKey: { header: 'x-api-key', keys: [{ name: 'demo-agent', sha256: createHash('sha256').update(process.env.DEMO_API_KEY ?? 'demo-key').digest('hex') }] },
              },
              backends: [
                {
                  mcp: {
                    targets: [
                      {
                        name: 'everything',
                        // `cwd` is relative to this file: the repository root, where node_modules lives.
                        stdio: { cmd: 'node', args: ['node_modules/@modelcontextprotocol/server-everything/dist/index.js', 'stdio'], cwd: '../..' },
                      },
                    ],
                  },
                },
              ],
            },
          ],
        },
      ],
    },
  ],
  // Ports of its own (and no readiness server): this example runs beside the others and beside `npm start`.
  admin: { address: '127.0.0.1:3409' },
  readiness: { address: false },
  stats: { address: '127.0.0.1:15420' },
  tracing: {
    endpoint: process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? 'http://127.0.0.1:3401/v1/traces',
    samplerRatio: 1,
    resourceAttributes: { 'deployment.environment.name': 'example' },
  },
  // Langfuse only when its keys are set (LANGFUSE_PUBLIC_KEY, LANGFUSE_SECRET_KEY, and LANGFUSE_BASE_URL for a
  // self-hosted one): the keys are read from the environment, never written here.
  ...(process.env.LANGFUSE_PUBLIC_KEY ? { langfuse: { publicKey: { env: 'LANGFUSE_PUBLIC_KEY' }, secretKey: { env: 'LANGFUSE_SECRET_KEY' }, captureContent: 'redacted' as const } } : {}),
  audit: { destination: process.env.AUDIT_FILE ? { file: process.env.AUDIT_FILE } : ('stdout' as const) },
}));
