import { useEffect, useState } from 'preact/hooks';
import { stream } from '../api.ts';
import { Badge, Decisions, ErrorBox, Json } from '../components.tsx';
import type { TrafficLine } from '../types.ts';

const FILTERS = ['route', 'identity', 'status', 'method', 'tool'] as const;
type Filters = Partial<Record<(typeof FILTERS)[number], string>>;
const KEPT = 500;

function statusKind(status: number): string {
  return status >= 500 || status === 0 ? 'failed' : status >= 400 ? 'deny' : 'up';
}

export function Traffic({ onPrefill }: { onPrefill?: (line: TrafficLine) => void }) {
  const [filters, setFilters] = useState<Filters>({});
  const [applied, setApplied] = useState<Filters>({});
  const [lines, setLines] = useState<TrafficLine[]>([]);
  const [selected, setSelected] = useState<TrafficLine>();
  const [state, setState] = useState<string>('connecting');

  useEffect(() => {
    setLines([]);
    const q = new URLSearchParams(Object.entries(applied).filter(([, v]) => v) as Array<[string, string]>);
    return stream(
      `/api/traffic/stream?${q}`,
      (event, data) => {
        if (event !== 'access') return;
        setLines((prev) => [data as TrafficLine, ...prev].slice(0, KEPT));
      },
      (s, err) => setState(s === 'live' ? 'live' : `disconnected: ${err ?? ''}`),
    );
  }, [applied]);

  return (
    <section>
      <h2>Traffic</h2>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setApplied({ ...filters });
        }}
      >
        {FILTERS.map((f) => (
          <label key={f}>
            {f}{' '}
            <input name={`filter-${f}`} value={filters[f] ?? ''} placeholder={f === 'status' ? '403 or 4xx' : f === 'method' ? 'tools/call' : ''} onInput={(e) => setFilters({ ...filters, [f]: (e.target as HTMLInputElement).value })} />
          </label>
        ))}
        <button type="submit">Apply</button>
        <span class="muted stream-state">{state}</span>
      </form>
      <ErrorBox error={state.startsWith('disconnected') ? state : undefined} />
      {lines.length === 0 && (
        <p class="empty traffic-empty">
          {Object.values(applied).some(Boolean)
            ? 'No request matches these filters yet: clear a filter, or send one that matches.'
            : 'No requests yet: send one through the gateway (curl, an MCP client, the MCP and A2A pages here) and it appears at once.'}
        </p>
      )}
      <div class="split">
        <table class="grid traffic">
          <thead>
            <tr><th>time</th><th>method</th><th>path</th><th>route</th><th>identity</th><th>MCP</th><th>status</th><th>ms</th></tr>
          </thead>
          <tbody>
            {lines.map((l) => (
              <tr key={l.id} class={`traffic-line ${selected?.id === l.id ? 'selected' : ''}`} onClick={() => setSelected(l)}>
                <td>{l.time.slice(11, 23)}</td>
                <td>{l.method}</td>
                <td class="mono">{l.path}</td>
                <td>{l.route ?? ''}</td>
                <td>{l.identity ?? ''}</td>
                <td class="mono">{l.messages.map((m) => (m.tool ? `${m.method} ${m.tool}` : m.method)).join(', ')}</td>
                <td><Badge kind={statusKind(l.status)}>{l.status}</Badge></td>
                <td>{l.durationMs}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {selected && (
          <aside class="detail line-detail">
            <h3>Request {selected.id}</h3>
            <p>
              trace id: <span class="mono trace-id">{selected.traceId ?? 'none (tracing off)'}</span>
            </p>
            {onPrefill && (
              <button type="button" onClick={() => onPrefill(selected)}>Use as policy input</button>
            )}
            <h4>Policy decisions</h4>
            <Decisions decisions={selected.decisions} />
            <h4>Messages</h4>
            <Json value={selected.messages} />
            <h4>Line</h4>
            <Json value={{ ...selected, messages: undefined, decisions: undefined }} />
          </aside>
        )}
      </div>
    </section>
  );
}
