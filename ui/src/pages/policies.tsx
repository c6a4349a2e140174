import { useEffect, useState } from 'preact/hooks';
import { get, post } from '../api.ts';
import { Badge, ErrorBox, Json } from '../components.tsx';
import type { TrafficLine } from '../types.ts';

interface PolicyEntry {
  scope: string;
  owner: string;
  routes: string[];
  name: string;
  kind: string;
  configPath: string;
  config: unknown;
  files: Array<{ path: string; source?: string; error?: string }>;
}

/**
 * The authorization input of a recent request: the one the gateway built and the policy evaluated, recorded with
 * its decision (the message's for an MCP/A2A call, else the request's), so evaluating it here gives the gateway's
 * decision. `recorded` is false when no authorization decision carried one (a route without Rego, a line from
 * before); the input is then rebuilt from the access line, and says so.
 */
export function inputFrom(line: TrafficLine): { input: Record<string, unknown>; recorded: boolean; decision?: string } {
  const authz = line.decisions.filter((d) => d.policy === 'authorization' && d.input !== undefined);
  const chosen = authz.find((d) => d.level === 'message') ?? authz[0];
  if (chosen) return { input: chosen.input as Record<string, unknown>, recorded: true, decision: chosen.outcome };
  const mcp = line.messages.find((m) => m.protocol === 'mcp');
  return {
    recorded: false,
    input: {
      identity: line.identity ? { kind: 'apiKey', subject: line.identity, roles: [], claims: {} } : { kind: 'anonymous', subject: '', roles: [], claims: {} },
      request: { method: line.method, path: line.path, query: {}, headers: {}, clientAddress: line.client },
      listener: line.listener,
      route: line.route,
      ...(mcp ? { mcp: { method: mcp.method, ...(mcp.target ? { target: mcp.target } : {}), ...(mcp.tool ? { tool: mcp.tool, arguments: {} } : {}), listing: false } } : {}),
    },
  };
}

const SAMPLE = {
  identity: { kind: 'apiKey', subject: 'readonly-agent', roles: ['readonly'], claims: {} },
  request: { method: 'POST', path: '/mcp', query: {}, headers: {} },
  mcp: { method: 'tools/call', tool: 'echo', arguments: { message: 'hi' }, listing: false },
};

export function Policies({ prefill }: { prefill?: TrafficLine }) {
  const [policies, setPolicies] = useState<PolicyEntry[]>([]);
  const [error, setError] = useState<string>();
  const [route, setRoute] = useState('');
  const [input, setInput] = useState(JSON.stringify(SAMPLE, null, 2));
  const [decision, setDecision] = useState<unknown>();
  const [test, setTest] = useState<{ exitCode: number; output: string }>();
  const [busy, setBusy] = useState(false);
  const [recent, setRecent] = useState<TrafficLine[]>([]);
  const [origin, setOrigin] = useState<string>();
  const prefillWith = (line: TrafficLine) => {
    const { input: doc, recorded, decision: outcome } = inputFrom(line);
    setInput(JSON.stringify(doc, null, 2));
    setOrigin(
      recorded
        ? `The input the gateway built for request ${line.id} and its policy evaluated (${outcome}); values under secret-looking keys are redacted.`
        : `Rebuilt from the access line of request ${line.id}: no authorization decision recorded its input (roles, headers and arguments are not known).`,
    );
  };

  useEffect(() => {
    get<{ policies: PolicyEntry[] }>('/api/policies').then((p) => {
      setPolicies(p.policies);
      const authz = p.policies.find((x) => x.name === 'authorization');
      if (authz) setRoute(authz.routes[0] ?? '');
    }, (e) => setError(e.message));
    get<{ lines: TrafficLine[] }>('/api/traffic').then((t) => setRecent(t.lines.slice(-20).reverse()), () => {});
  }, []);
  useEffect(() => {
    if (!prefill) return;
    prefillWith(prefill);
    if (prefill.route) setRoute(prefill.route);
  }, [prefill]);

  const authzRoutes = [...new Set(policies.filter((p) => p.name === 'authorization').flatMap((p) => p.routes))];
  const act = async (fn: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    try {
      await fn();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section>
      <h2>Policies</h2>
      <ErrorBox error={error} />
      <div class="policy-list">
        {policies.length === 0 && (
          <p class="empty">
            No policies in the running config. Add them under <code>policies</code> on a listener or a route, e.g.{' '}
            <code>{"policies: { authorization: { rego: './policy.rego' } }"}</code>; <code>examples/authorization</code> has Rego rules and their tests.
          </p>
        )}
        {policies.map((p) => (
          <details key={p.configPath} class="policy">
            <summary>
              <Badge kind={p.kind === 'rego' || p.kind === 'cel' ? 'policy' : 'info'}>{p.kind}</Badge> <b>{p.name}</b> on {p.scope} {p.owner}
              <span class="muted"> · routes {p.routes.join(', ') || '—'} · {p.configPath}</span>
            </summary>
            <Json value={p.config} />
            {p.files.map((f) => (
              <div key={f.path}>
                <div class="mono">{f.path}</div>
                {f.source !== undefined && <pre class="source">{f.source}</pre>}
                {f.error && <ErrorBox error={f.error} />}
              </div>
            ))}
          </details>
        ))}
      </div>
      <h3>Evaluate a decision</h3>
      <div class="toolbar">
        <label>
          route{' '}
          <select name="eval-route" value={route} onChange={(e) => setRoute((e.target as HTMLSelectElement).value)}>
            <option value="">choose…</option>
            {authzRoutes.map((r) => <option key={r} value={r}>{r}</option>)}
          </select>
        </label>
        <label>
          prefill from a recent request{' '}
          <select
            name="prefill"
            onChange={(e) => {
              const line = recent.find((l) => l.id === (e.target as HTMLSelectElement).value);
              if (line) {
                prefillWith(line);
                if (line.route && authzRoutes.includes(line.route)) setRoute(line.route);
              }
            }}
          >
            <option value="">—</option>
            {recent.map((l) => (
              <option key={l.id} value={l.id}>
                {l.time.slice(11, 19)} {l.method} {l.path} {l.identity ?? ''} {l.messages.map((m) => m.tool ?? m.method).join(',')}
              </option>
            ))}
          </select>
        </label>
      </div>
      {origin && <p class="muted input-origin">{origin}</p>}
      <textarea name="policy-input" class="input" rows={14} value={input} onInput={(e) => setInput((e.target as HTMLTextAreaElement).value)} />
      <div class="toolbar">
        <button
          type="button"
          disabled={!route || busy}
          onClick={() =>
            act(async () => {
              let parsed: unknown;
              try {
                parsed = JSON.parse(input);
              } catch (e) {
                throw new Error(`input is not JSON: ${(e as Error).message}`);
              }
              setDecision(await post('/api/policies/eval', { route, input: parsed }));
            })
          }
        >
          Evaluate
        </button>
        <button type="button" disabled={busy} onClick={() => act(async () => setTest(await post('/api/policies/test', {})))}>
          Run policy test
        </button>
      </div>
      {decision !== undefined && (
        <div class="decision">
          <h4>Decision</h4>
          <Json value={decision} label="decision" />
        </div>
      )}
      {test && (
        <div class="policy-test">
          <h4>
            policy test <Badge kind={test.exitCode === 0 ? 'allow' : 'deny'}>{test.exitCode === 0 ? 'passed' : `exit ${test.exitCode}`}</Badge>
          </h4>
          <pre class="source">{test.output}</pre>
        </div>
      )}
    </section>
  );
}
