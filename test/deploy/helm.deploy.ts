import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';

// The Helm chart, checked by the real helm (built from its Go module by scripts/deploy-test-setup.mjs): lint,
// render with several value sets, and decode every rendered object into the Kubernetes API types with unknown
// fields disallowed (kubecheck, test/fixtures/deploy/kubecheck).
const ROOT = new URL('../../', import.meta.url).pathname;
const BIN = process.env.DEPLOY_TOOLS_BIN || join(ROOT, '.tools', 'bin');
const HELM = join(BIN, 'helm');
const KUBECHECK = join(BIN, 'kubecheck');
const CHART = join(ROOT, 'deploy', 'helm', 'portcullis');

function helm(args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(HELM, args, { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function render(set: string[] = []): { objects: any[]; text: string } {
  const r = helm(['template', 'gw', CHART, '--namespace', 'edge', ...set.flatMap((s) => ['--set', s])]);
  assert.equal(r.status, 0, r.stderr);
  const check = spawnSync(KUBECHECK, [], { input: r.stdout, encoding: 'utf8', timeout: 30_000 });
  assert.equal(check.status, 0, `kubecheck: ${check.stderr}`);
  const objects = parseAllDocuments(r.stdout).map((d) => d.toJS()).filter((o) => o);
  assert.equal(check.stdout.trim().split('\n').length, objects.length, 'kubecheck saw every object');
  return { objects, text: r.stdout };
}

const find = (objects: any[], kind: string, name?: string) => objects.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name));

describe('Helm chart deploy/helm/portcullis', () => {
  it('has helm and kubecheck (npm run test:deploy builds them)', () => {
    assert.ok(existsSync(HELM), `${HELM}: run node scripts/deploy-test-setup.mjs`);
    assert.ok(existsSync(KUBECHECK), `${KUBECHECK}: run node scripts/deploy-test-setup.mjs`);
  });

  it('passes helm lint, with the defaults and with everything on', () => {
    const base = helm(['lint', CHART, '--strict']);
    assert.equal(base.status, 0, base.stdout + base.stderr);
    const all = helm(['lint', CHART, '--strict', '--set', 'autoscaling.enabled=true,serviceMonitor.enabled=true,networkPolicy.mcpLockdown.enabled=true,sessionKey.existingSecret=k']);
    assert.equal(all.status, 0, all.stdout + all.stderr);
  });

  it('renders the defaults into valid Kubernetes objects: probes on 15021, resources, a locked-down security context', () => {
    const { objects } = render();
    const kinds = objects.map((o) => o.kind).sort();
    assert.deepEqual(kinds, ['ConfigMap', 'Deployment', 'NetworkPolicy', 'PodDisruptionBudget', 'Service', 'Service', 'ServiceAccount']);
    const deployment = find(objects, 'Deployment');
    const pod = deployment.spec.template.spec;
    const c = pod.containers[0];
    assert.deepEqual(c.args, ['start', '-f', '/etc/portcullis/config.yaml', '--readiness', '0.0.0.0:15021', '--stats', '0.0.0.0:15020']);
    assert.equal(c.readinessProbe.httpGet.path, '/healthz/ready');
    assert.equal(c.ports.find((p: any) => p.name === 'readiness').containerPort, 15021);
    assert.ok(c.resources.requests.cpu && c.resources.limits.memory);
    assert.equal(c.securityContext.readOnlyRootFilesystem, true);
    assert.equal(c.securityContext.allowPrivilegeEscalation, false);
    assert.deepEqual(c.securityContext.capabilities.drop, ['ALL']);
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.ok(pod.terminationGracePeriodSeconds > 25 + 5, 'the grace period covers preStop and the drain');
    assert.deepEqual(c.volumeMounts.map((m: any) => m.mountPath).sort(), ['/app/.cache', '/etc/portcullis', '/tmp']);
    // No session key: no peer address (the gateway refuses one without a shared key).
    assert.ok(!c.env.some((e: any) => e.name === 'PORTCULLIS_PEER_ADDRESS'));
    const headless = find(objects, 'Service', 'gw-portcullis-peers');
    assert.equal(headless.spec.clusterIP, 'None');
    assert.equal(headless.spec.publishNotReadyAddresses, true);
    assert.match(find(objects, 'ConfigMap').data['config.yaml'], /pathPrefix: \/mcp/);
  });

  it('wires the session key, its previous key and policy secrets from Secrets, and the peer address from the pod IP', () => {
    const { objects } = render(['sessionKey.existingSecret=pcl-keys', 'sessionKey.previousKey=previous', 'secretEnv.JWT_KEY.secretName=jwt', 'secretEnv.JWT_KEY.key=pem']);
    const env = find(objects, 'Deployment').spec.template.spec.containers[0].env;
    const byName = Object.fromEntries(env.map((e: any) => [e.name, e]));
    assert.deepEqual(byName.PORTCULLIS_SESSION_KEY.valueFrom.secretKeyRef, { name: 'pcl-keys', key: 'session-key' });
    assert.deepEqual(byName.PORTCULLIS_SESSION_KEY_PREVIOUS.valueFrom.secretKeyRef, { name: 'pcl-keys', key: 'previous', optional: true });
    assert.equal(byName.PORTCULLIS_PEER_ADDRESS.value, '$(POD_IP):15030');
    assert.ok(env.findIndex((e: any) => e.name === 'POD_IP') < env.findIndex((e: any) => e.name === 'PORTCULLIS_PEER_ADDRESS'), 'POD_IP is defined before it is used');
    assert.deepEqual(byName.JWT_KEY.valueFrom.secretKeyRef, { name: 'jwt', key: 'pem' });
  });

  it('renders the optional objects: HPA, ServiceMonitor, the MCP lock-down NetworkPolicy, a Redis URL in the config', () => {
    const { objects } = render([
      'autoscaling.enabled=true',
      'autoscaling.targetMemoryUtilizationPercentage=80',
      'serviceMonitor.enabled=true',
      'networkPolicy.mcpLockdown.enabled=true',
      'networkPolicy.mcpLockdown.namespace=mcp',
      'networkPolicy.mcpLockdown.podSelector.app=mcp-server',
      'redis.url=redis://redis.edge:6379',
    ]);
    const hpa = find(objects, 'HorizontalPodAutoscaler');
    assert.equal(hpa.spec.scaleTargetRef.name, 'gw-portcullis');
    assert.deepEqual(hpa.spec.metrics.map((m: any) => m.resource.name), ['cpu', 'memory']);
    assert.equal(find(objects, 'Deployment').spec.replicas, undefined, 'the HPA owns the replica count');
    assert.equal(find(objects, 'ServiceMonitor').spec.endpoints[0].port, 'metrics');
    const lock = find(objects, 'NetworkPolicy', 'gw-portcullis-mcp-lockdown');
    assert.equal(lock.metadata.namespace, 'mcp');
    assert.deepEqual(lock.spec.podSelector.matchLabels, { app: 'mcp-server' });
    assert.deepEqual(lock.spec.ingress[0].from[0].namespaceSelector.matchLabels, { 'kubernetes.io/metadata.name': 'edge' });
  });

  it('renders a config that uses chart values, and rolls the pods when it changes', () => {
    const config = 'binds:\n- port: 8080\n  listeners:\n  - routes:\n    - backends:\n      - host: "{{ .Values.redis.url }}"\n';
    const a = render([`config=${config.replace(/,/g, '\\,')}`, 'redis.url=redis://r:6379']);
    assert.match(find(a.objects, 'ConfigMap').data['config.yaml'], /host: "redis:\/\/r:6379"/);
    const b = render([`config=${config.replace(/,/g, '\\,')}`, 'redis.url=redis://other:6379']);
    const sum = (o: any[]) => find(o, 'Deployment').spec.template.metadata.annotations['checksum/config'];
    assert.notEqual(sum(a.objects), sum(b.objects));
  });

  it('renders gateway configs that `portcullis validate` accepts: the default, and docs/deploy.md\'s values example', async () => {
    const doc = readFileSync(join(ROOT, 'docs/deploy.md'), 'utf8');
    const example = /# values.yaml\n([\s\S]*?)```/.exec(doc)?.[1];
    assert.ok(example, 'docs/deploy.md has a values example');
    const dir = await mkdtemp(join(tmpdir(), 'pcl-helm-'));
    try {
      await writeFile(join(dir, 'values.yaml'), example);
      for (const [what, args] of [['default', []], ['docs example', ['-f', join(dir, 'values.yaml')]]] as const) {
        const r = helm(['template', 'gw', CHART, ...args, '--show-only', 'templates/configmap.yaml']);
        assert.equal(r.status, 0, r.stderr);
        const file = join(dir, `${what.replace(' ', '-')}.yaml`);
        await writeFile(file, parseAllDocuments(r.stdout)[0].toJS().data['config.yaml']);
        const v = spawnSync(process.execPath, ['--no-node-snapshot', join(ROOT, 'core/cli/bin.mjs'), 'validate', '-c', file], { encoding: 'utf8', timeout: 60_000 });
        assert.equal(v.status, 0, `${what}: ${v.stderr}`);
        assert.match(v.stdout, /valid \(1 bind\(s\), 1 route\(s\)\)/);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses values the schema does not allow, naming the value', () => {
    for (const [set, message] of [
      ['ports.peer=70000', /at '\/ports\/peer': maximum: got 70,000, want 65,535/],
      ['replicaCount=0', /at '\/replicaCount': minimum/],
      ['redis.url=http://x', /at '\/redis\/url'/],
      ['sessionKeys.existingSecret=x', /sessionKeys/],
      ['image.pullPolicy=Sometimes', /at '\/image\/pullPolicy'/],
    ] as const) {
      const r = helm(['template', 'gw', CHART, '--set', set]);
      assert.notEqual(r.status, 0, set);
      assert.match(r.stderr, message, set);
    }
  });

  it('kubecheck itself refuses an object with an unknown field', () => {
    const bad = 'apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  portz: []\n';
    const r = spawnSync(KUBECHECK, [], { input: bad, encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /Service x: json: unknown field "portz"/);
  });
});
