import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../core/config/index.ts';
import { builtinPolicies } from '../../policies/index.ts';
import { builtinBackends } from '../../core/gateway/backends.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { connectClient, MCP_TEST_EXTRA } from '../helpers/mcp.ts';
import { startJaeger, tag, type Jaeger } from './tools.ts';

/**
 * agentgateway's telemetry spellings: its example configs (copied unchanged from its repository, commit
 * 75b4e6ce6, into test/fixtures/compat/agentgateway/) validate; `frontendPolicies.tracing` exports over OTLP/gRPC
 * (its default) to a real Jaeger; `frontendPolicies.accessLog` filters and shapes the access lines with CEL; what
 * has no counterpart is named with its path.
 */

const EXAMPLES = fileURLToPath(new URL('../fixtures/compat/agentgateway/', import.meta.url));
const META_ECHO = fileURLToPath(new URL('../fixtures/telemetry/meta-echo-server.ts', import.meta.url));

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pcl-agw-telemetry-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function write(name: string, yaml: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, yaml);
  return file;
}

/** The error lines of a config that does not load, without the first line (which names the file). */
async function errorsOf(file: string): Promise<string[]> {
  try {
    await loadConfig(file, builtinPolicies, builtinBackends);
  } catch (err) {
    assert.equal((err as { code?: string }).code, 'PCL_ERR_CONFIG_INVALID', (err as Error).message);
    return (err as Error).message.split('\n').slice(1).filter((l) => !/^\S.*\(\d+\):$/.test(l)).map((l) => l.trim());
  }
  assert.fail(`${file} loaded, but errors were expected`);
}

const ROUTE = 'binds:\n- port: 0\n  listeners:\n  - routes:\n    - policies: { directResponse: { status: 200 } }\n';

describe("agentgateway's telemetry examples validate unchanged", () => {
  it('mcp-telemetry: frontendPolicies.tracing to localhost:4317 is OTLP over gRPC, every new request sampled', async () => {
    const { config } = await loadConfig(join(EXAMPLES, 'mcp-telemetry/config.yaml'), builtinPolicies, builtinBackends);
    const t = config.telemetry.tracing!;
    assert.deepEqual([t.protocol, t.endpoint, t.samplerRatio, t.clientSamplerRatio], ['grpc', 'http://localhost:4317', 1, 1]);
    assert.equal(config.telemetry.decisions.tracing.from, 'config');
  });

  it('traffic-a2a: frontendPolicies.accessLog.add is the access log shape, with JSON logging', async () => {
    const { config } = await loadConfig(join(EXAMPLES, 'traffic-a2a/config.yaml'), builtinPolicies, builtinBackends);
    assert.deepEqual(config.logging, { level: 'info', format: 'json', accessLog: true, accessLogShape: { add: { backend: 'backend' }, remove: [] } });
    assert.equal(config.binds[0].listeners[0].routes[0].backends[0].kind, 'a2a');
  });

  it('traffic-ratelimiting-local: config.tracing over gRPC (its default otlpProtocol) with randomSampling', async () => {
    const { config } = await loadConfig(join(EXAMPLES, 'traffic-ratelimiting-local/config.yaml'), builtinPolicies, builtinBackends);
    const t = config.telemetry.tracing!;
    assert.deepEqual([t.protocol, t.endpoint, t.samplerRatio], ['grpc', 'http://localhost:4317', 1]);
  });

  it('traffic-ratelimiting-global: config.tracing over gRPC beside its remoteRateLimit (docs/remote-rate-limit.md)', async () => {
    const { config } = await loadConfig(join(EXAMPLES, 'traffic-ratelimiting-global/config.yaml'), builtinPolicies, builtinBackends);
    assert.equal(config.telemetry.tracing!.protocol, 'grpc');
  });

  it('mcp-telemetry/logging: only what Portcullis lacks is named (OTLP access logs)', async () => {
    assert.deepEqual(await errorsOf(join(EXAMPLES, 'mcp-telemetry/logging/otel.yaml')), [
      'frontendPolicies.accessLog.otlp: agentgateway feature `frontendPolicies.accessLog.otlp (access logs over OTLP)` is not supported by Portcullis (access lines go to the log; traces go over OTLP)',
    ]);
  });

  it('traffic-oidc: its accessLog fields (jwt.sub, jwt.email) map, beside its oidc browser login', async () => {
    const { config } = await loadConfig(join(EXAMPLES, 'traffic-oidc/config.yaml'), builtinPolicies, builtinBackends);
    assert.deepEqual(config.logging.accessLogShape, { add: { 'user.id': 'jwt.sub', 'user.email': 'jwt.email' }, remove: [] });
  });

  it('the older config.logging.filter and fields.add/remove are the same access log shape', async () => {
    const file = await write('old-logging.yaml', `config:\n  logging:\n    format: text\n    filter: 'response.code >= 500'\n    fields:\n      add: { user.id: jwt.sub }\n      remove: [http.path, src.addr]\n${ROUTE}`);
    const { config } = await loadConfig(file, builtinPolicies, builtinBackends);
    assert.deepEqual(config.logging, { level: 'info', format: 'pretty', accessLog: true, accessLogShape: { filter: 'response.code >= 500', add: { 'user.id': 'jwt.sub' }, remove: ['path', 'client'] } });
  });

  it('config.tracing: path over HTTP, clientSampling, headers, resources of frontendPolicies.tracing as CEL constants', async () => {
    const http = await write('http.yaml', `config:\n  tracing:\n    otlpEndpoint: http://collector:4318\n    otlpProtocol: http\n    path: /otlp/v1/traces\n    randomSampling: "0.5"\n    clientSampling: false\n    headers: { x-team: blue }\n${ROUTE}`);
    const t = (await loadConfig(http, builtinPolicies, builtinBackends)).config.telemetry.tracing!;
    assert.deepEqual([t.protocol, t.endpoint, t.samplerRatio, t.clientSamplerRatio, t.headers['x-team']], ['http/protobuf', 'http://collector:4318/otlp/v1/traces', 0.5, 0, 'blue']);
    const fp = await write('fp.yaml', `frontendPolicies:\n  tracing:\n    host: collector:4318\n    protocol: http\n    randomSampling: 0.1\n    resources:\n      service.name: '"edge-" + "gw"'\n      deployment.tier: '1 + 2'\n${ROUTE}`);
    const f = (await loadConfig(fp, builtinPolicies, builtinBackends)).config.telemetry.tracing!;
    assert.deepEqual([f.protocol, f.endpoint, f.samplerRatio, f.serviceName, f.resourceAttributes], ['http/protobuf', 'http://collector:4318/v1/traces', 0.1, 'edge-gw', { 'deployment.tier': 3 }]);
  });
});

describe('bad agentgateway telemetry settings: each named with its path', () => {
  it('tracing: an unknown protocol, a sampling out of range or given as CEL, what has no counterpart, a missing host', async () => {
    const file = await write(
      'bad-tracing.yaml',
      `frontendPolicies:\n  tracing:\n    protocol: thrift\n    host: c:4317\nconfig:\n  tracing:\n    otlpEndpoint: http://c:4317\n    randomSampling: 2\n    clientSampling: 'request.headers["x-trace"] == "1"'\n    fields: { add: { a: '"b"' } }\n${ROUTE}`,
    );
    assert.deepEqual(await errorsOf(file), [
      'config.tracing.randomSampling: expected true, false or a ratio from 0 to 1, got 2',
      'config.tracing.clientSampling: agentgateway feature `clientSampling as a CEL expression` is not supported by Portcullis (give true, false or a ratio from 0 to 1)',
      'config.tracing.fields.add: agentgateway feature `config.tracing.fields.add (span attributes from CEL)` is not supported by Portcullis',
      'frontendPolicies.tracing: config.tracing is set too: give the collector in one of them',
      'frontendPolicies.tracing.protocol: expected "grpc" or "http", got "thrift"',
    ]);
    const other = await write(
      'bad-frontend.yaml',
      `frontendPolicies:\n  tracing:\n    backend: otel-collector\n    attributes: { user: jwt.sub }\n    filter: 'response.code >= 500'\n    resources: { service.name: '"unterminated' }\n${ROUTE}`,
    );
    const errors = await errorsOf(other);
    assert.deepEqual(errors.slice(0, 3), [
      'frontendPolicies.tracing.backend: agentgateway feature `frontendPolicies.tracing.backend` is not supported by Portcullis (give the collector as host: "host:port")',
      'frontendPolicies.tracing.attributes: agentgateway feature `frontendPolicies.tracing.attributes (per-request span attributes from CEL)` is not supported by Portcullis',
      'frontendPolicies.tracing.filter: agentgateway feature `frontendPolicies.tracing.filter (per-request span filtering from CEL)` is not supported by Portcullis',
    ]);
    assert.match(errors[3], /^frontendPolicies\.tracing\.resources\.service\.name: invalid CEL expression "\\"unterminated": /);
    assert.equal(errors.length, 4);
    const hostless = await write('hostless.yaml', `frontendPolicies:\n  tracing:\n    randomSampling: true\n${ROUTE}`);
    assert.deepEqual(await errorsOf(hostless), ['frontendPolicies.tracing.host: is required ("host:port" of the OTLP collector)']);
  });

  it('accessLog: a CEL typo, a filter that is not a condition, a field that is not an expression, both spellings at once', async () => {
    const file = await write(
      'bad-log.yaml',
      `frontendPolicies:\n  accessLog:\n    filter: 'request.pth ='\n    add: { a: 'response.code +', b: 7 }\n    remove: [1]\n    database: {}\n${ROUTE}`,
    );
    const errors = await errorsOf(file);
    assert.equal(errors[0], 'frontendPolicies.accessLog.database: agentgateway feature `frontendPolicies.accessLog.database` is not supported by Portcullis');
    assert.match(errors[1], /^logging\.accessLog\.filter: invalid CEL expression "request\.pth =": /);
    assert.match(errors[2], /^logging\.accessLog\.add\.a: invalid CEL expression "response\.code \+": /);
    assert.deepEqual(errors.slice(3), ['logging.accessLog.add.b: expected a CEL expression (string), got 7', 'logging.accessLog.remove[0]: expected string, got number']);
    const notBool = await write('not-bool.yaml', `frontendPolicies:\n  accessLog:\n    filter: 'response.code + 1'\n${ROUTE}`);
    assert.deepEqual(await errorsOf(notBool), ['logging.accessLog.filter: invalid CEL expression "response.code + 1": the expression must be a boolean, it is of type int']);
    const both = await write('both.yaml', `config:\n  logging:\n    filter: 'true'\nfrontendPolicies:\n  accessLog:\n    add: { a: '"b"' }\n${ROUTE}`);
    assert.deepEqual(await errorsOf(both), ['frontendPolicies.accessLog: cannot use config.logging.filter/fields together with frontendPolicies.accessLog']);
  });
});

describe('agentgateway telemetry at run time: traces over gRPC in Jaeger, access lines filtered and shaped by CEL', () => {
  let jaeger: Jaeger;
  let gw: TestGateway;

  before(async () => {
    jaeger = await startJaeger();
    const host = jaeger.otlpGrpcUrl.replace(/^http:\/\//, '');
    const yaml = [
      'frontendPolicies:',
      '  tracing:',
      `    host: ${host}`,
      '    randomSampling: true',
      '  accessLog:',
      "    filter: 'request.path != \"/health\"'",
      '    add:',
      "      team: 'request.headers[\"x-team\"]'",
      "      backend: 'backend'",
      "      user.id: 'jwt.sub'",
      "      tool: 'mcp.tool.name'",
      '    remove: [src.addr, bytesIn]',
      'binds:',
      '- port: 0',
      '  address: 127.0.0.1',
      '  listeners:',
      '  - routes:',
      '    - name: mcp',
      '      matches: [{ path: { pathPrefix: /mcp } }]',
      '      backends:',
      '      - mcp:',
      '          targets:',
      '          - name: meta',
      `            stdio: { cmd: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(META_ECHO)}, stdio] }`,
      '    - name: plain',
      '      policies: { directResponse: { status: 200, body: ok } }',
      `shutdown: { drainTimeoutMs: ${MCP_TEST_EXTRA.shutdown.drainTimeoutMs} }`,
      '',
    ].join('\n');
    gw = await startTestGateway(yaml, { fileName: 'config.yaml' });
  });

  after(async () => {
    await gw?.close();
    await jaeger?.close();
  });

  it('the start-up log names the sink; a request is traced into Jaeger over OTLP/gRPC', async () => {
    const line = await gw.logs.waitFor((l) => l.sink === 'tracing');
    assert.deepEqual([line.on, line.protocol, line.msg], [true, 'grpc', "tracing on (from the config's tracing block, grpc)"]);
    const traceId = randomBytes(16).toString('hex');
    const res = await fetch(`${gw.url()}/hello`, { headers: { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` } });
    assert.equal(res.status, 200);
    const spans = await jaeger.waitForTrace(traceId, 1);
    assert.equal(tag(spans[0], 'url.path'), '/hello');
    // randomSampling: true starts traces of its own for requests without a traceparent.
    const own = await fetch(`${gw.url()}/own`);
    await own.text();
    const ownLine = await gw.logs.waitFor((l) => l.type === 'access' && l.path === '/own');
    await jaeger.waitForTrace(ownLine.trace_id, 1);
  });

  it('the filter drops lines, added fields are computed, removed ones (by agentgateway name) are gone', async () => {
    await (await fetch(`${gw.url()}/health`)).text();
    await (await fetch(`${gw.url()}/shaped`, { headers: { 'x-team': 'blue' } })).text();
    const line = await gw.logs.waitFor((l) => l.type === 'access' && l.path === '/shaped');
    assert.equal(line.team, 'blue');
    // A direct response has no backend: `backend` names nothing, so neither ours nor the added field is there.
    assert.equal(line.backend, undefined);
    assert.equal('client' in line, false);
    assert.equal('bytesIn' in line, false);
    // No JWT on this route: the field whose expression names it is left out, the line is still written.
    assert.equal('user.id' in line, false);
    assert.equal(gw.logs.lines.some((l) => l.type === 'access' && l.path === '/health'), false);
  });

  it('an MCP call: its tool name through mcp.tool.name', async () => {
    const client = await connectClient(`${gw.url()}/mcp`);
    try {
      await client.callTool({ name: 'echo_meta', arguments: { text: 'hi' } });
    } finally {
      await client.close();
    }
    const line = await gw.logs.waitFor((l) => l.type === 'access' && l.tool === 'echo_meta');
    assert.equal(line['gen_ai.tool.name'], 'echo_meta');
    // agentgateway's `add: { backend: backend }` (its traffic-a2a example): the backend variable, a map.
    assert.deepEqual(line.backend, { name: 'mcp/mcp' });
  });
});
