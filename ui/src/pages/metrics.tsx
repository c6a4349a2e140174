import { useEffect, useState } from 'preact/hooks';
import { get } from '../api.ts';
import { ErrorBox, LineChart } from '../components.tsx';

interface Snapshot {
  window: {
    bucketMs: number;
    series: Array<Record<string, number>>;
    totals: Record<string, number>;
    latency: { p50: number; p90: number; p99: number };
    byStatusClass: Record<string, number>;
    byRoute: Record<string, number>;
    mcpByMethod: Record<string, { ok: number; error: number }>;
  };
  prometheus: Array<{ name: string; help: string; type: string; values: Array<{ labels: Record<string, string | number>; value: number }> }>;
}

/** What each total counts, in words (the API's keys are camelCase). */
const TOTAL_LABELS: Record<string, string> = {
  requests: 'requests',
  errors: 'errors (5xx)',
  denials: 'denied by a policy',
  rateLimited: 'rate-limited (429)',
  sessionsOpen: 'MCP sessions open',
  sessionsOpened: 'MCP sessions opened',
  reloadsOk: 'reloads applied',
  reloadsFailed: 'reloads failed',
};
const human = (key: string) => TOTAL_LABELS[key] ?? key.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();

function Counts({ title, counts }: { title: string; counts: Record<string, number | string> }) {
  const entries = Object.entries(counts);
  return (
    <div class="counts">
      <h4>{title}</h4>
      {entries.length === 0 ? <p class="muted">none yet: send a request through the gateway (the Traffic page shows it live)</p> : (
        <table class="grid"><tbody>{entries.map(([k, v]) => <tr key={k}><td>{k}</td><td>{v}</td></tr>)}</tbody></table>
      )}
    </div>
  );
}

export function Metrics() {
  const [data, setData] = useState<Snapshot>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    const load = () => get<Snapshot>('/api/metrics').then((d) => { setData(d); setError(undefined); }, (e) => setError(e.message));
    void load();
    const timer = setInterval(load, 5000);
    return () => clearInterval(timer);
  }, []);
  const w = data?.window;
  return (
    <section>
      <h2>Metrics</h2>
      <p class="muted">From the gateway's own events, in {w ? w.bucketMs / 1000 : 5}-second buckets over the last 15 minutes.</p>
      <ErrorBox error={error} />
      {w && (
        <>
          <div class="stats">
            {Object.entries(w.totals).map(([k, v]) => (
              <div class="stat" key={k} data-key={k}><b>{v}</b><span>{human(k)}</span></div>
            ))}
            <div class="stat"><b>{w.latency.p50} / {w.latency.p90} / {w.latency.p99}</b><span>latency p50 / p90 / p99 (ms)</span></div>
          </div>
          <div class="charts">
            <LineChart title={`Requests per ${w.bucketMs / 1000} s`} points={w.series} series={[{ key: 'requests', color: '#2563eb', label: 'HTTP requests' }, { key: 'messages', color: '#7c3aed', label: 'MCP/A2A messages' }]} />
            <LineChart title="Latency" unit="ms" points={w.series} series={[{ key: 'p50', color: '#059669', label: 'median (p50)' }, { key: 'p90', color: '#d97706', label: 'p90' }, { key: 'p99', color: '#dc2626', label: 'p99' }]} />
            <LineChart title={`Errors, denials, rate-limited per ${w.bucketMs / 1000} s`} points={w.series} series={[{ key: 'errors', color: '#dc2626', label: 'errors (5xx)' }, { key: 'denials', color: '#d97706', label: 'denied by a policy' }, { key: 'rateLimited', color: '#7c3aed', label: 'rate-limited (429)' }]} />
          </div>
          <div class="cols">
            <Counts title="By status class" counts={w.byStatusClass} />
            <Counts title="By route" counts={w.byRoute} />
            <Counts title="Messages by method (ok / error)" counts={Object.fromEntries(Object.entries(w.mcpByMethod).map(([k, v]) => [k, `${v.ok} / ${v.error}`]))} />
          </div>
        </>
      )}
      {data && (
        <details class="prometheus">
          <summary>Prometheus registry ({data.prometheus.length} metrics)</summary>
          {data.prometheus.length === 0 && <p class="muted">No metrics registered in this process's Prometheus registry.</p>}
          <table class="grid">
            <tbody>
              {data.prometheus.map((m) => (
                <tr key={m.name}>
                  <td class="mono">{m.name}</td>
                  <td>{m.type}</td>
                  <td>{m.values.slice(0, 5).map((v) => `${Object.entries(v.labels).map(([k, l]) => `${k}=${l}`).join(',')} ${v.value}`).join('; ')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      )}
    </section>
  );
}
