import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { get } from './api.ts';
import type { Credential, DecisionLine, ExchangeEntry, PictureBind, PictureRoute } from './types.ts';

export function Json({ value, label }: { value: unknown; label?: string }) {
  return (
    <pre class="json" aria-label={label}>
      {value === undefined ? '—' : JSON.stringify(value, null, 2)}
    </pre>
  );
}

export function ErrorBox({ error }: { error?: string }) {
  return error ? <div class="error" role="alert">{error}</div> : null;
}

export function Badge({ kind, children }: { kind: string; children: ComponentChildren }) {
  return <span class={`badge badge-${kind}`}>{children}</span>;
}

export function Decisions({ decisions }: { decisions: DecisionLine[] }) {
  if (decisions.length === 0) return <p class="muted">No policy decisions were recorded for it.</p>;
  return (
    <table class="grid decisions">
      <thead>
        <tr><th>level</th><th>policy</th><th>method</th><th>outcome</th><th>reason</th><th>trace</th></tr>
      </thead>
      <tbody>
        {decisions.map((d, i) => (
          <tr key={i} class={`outcome-${d.outcome}`}>
            <td>{d.level}</td>
            <td>{d.policy}</td>
            <td>{d.method ?? ''}</td>
            <td><Badge kind={d.outcome}>{d.outcome}</Badge></td>
            <td>{d.reason ?? d.errorCode ?? ''}</td>
            <td class="mono">{d.traceId ?? ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function Exchange({ exchange }: { exchange: ExchangeEntry[] }) {
  return (
    <details class="exchange">
      <summary>Raw exchange ({exchange.length} HTTP requests)</summary>
      {exchange.map((e) => (
        <div key={e.requestId} class="exchange-entry">
          <div class="mono">
            {e.request.method} {e.request.url} → {e.response ? e.response.status : e.error}
          </div>
          <div class="cols">
            <Json value={e.request.body ?? null} label="request" />
            <Json value={e.response?.events ?? e.response?.body ?? e.error ?? null} label="response" />
          </div>
        </div>
      ))}
    </details>
  );
}

/** The routes of the running config, for the playgrounds' route pickers. */
export function useRoutes(): { routes: PictureRoute[]; error?: string } {
  const [routes, setRoutes] = useState<PictureRoute[]>([]);
  const [error, setError] = useState<string>();
  useEffect(() => {
    get<{ binds: PictureBind[] }>('/api/picture')
      .then((p) => setRoutes(p.binds.flatMap((b) => b.listeners.flatMap((l) => l.routes))))
      .catch((e) => setError(e.message));
  }, []);
  return { routes, error };
}

export function CredentialPicker({ value, onChange }: { value: Credential; onChange: (c: Credential) => void }) {
  return (
    <fieldset class="credential">
      <legend>Caller</legend>
      <label>
        credential{' '}
        <select name="credential-kind" value={value.kind} onChange={(e) => onChange({ ...value, kind: (e.target as HTMLSelectElement).value as Credential['kind'] })}>
          <option value="none">none (anonymous)</option>
          <option value="apiKey">API key</option>
          <option value="bearer">bearer token (JWT)</option>
        </select>
      </label>
      {value.kind !== 'none' && (
        <label>
          {value.kind === 'apiKey' ? 'key' : 'token'}{' '}
          <input name="credential-value" type="password" autocomplete="off" value={value.value ?? ''} onInput={(e) => onChange({ ...value, value: (e.target as HTMLInputElement).value })} />
        </label>
      )}
      {value.kind === 'apiKey' && (
        <label>
          header{' '}
          <input name="credential-header" placeholder="Authorization: Bearer" value={value.header ?? ''} onInput={(e) => onChange({ ...value, header: (e.target as HTMLInputElement).value || undefined })} />
        </label>
      )}
    </fieldset>
  );
}

export function RoutePicker({ routes, value, onChange, prefer }: { routes: PictureRoute[]; value: string; onChange: (r: string) => void; prefer: string }) {
  const sorted = [...routes].sort((a, b) => Number(b.protocol === prefer) - Number(a.protocol === prefer));
  return (
    <label>
      route{' '}
      <select name="route" value={value} onChange={(e) => onChange((e.target as HTMLSelectElement).value)}>
        <option value="">choose…</option>
        {sorted.map((r) => (
          <option key={r.name} value={r.name}>
            {r.name} ({r.protocol}, {r.url})
          </option>
        ))}
      </select>
    </label>
  );
}

/** A small line chart as inline SVG: no chart library, nothing fetched. */
export function LineChart({ title, points, series, unit }: { title: string; points: Array<Record<string, number>>; series: Array<{ key: string; color: string; label?: string }>; unit?: string }) {
  const w = 420;
  const h = 150;
  const pad = 28;
  // The time axis: the first, middle and last bucket's clock time (points carry `t`, ms since the epoch).
  const clock = (t: number | undefined) => (t === undefined ? '' : new Date(t).toTimeString().slice(0, 8));
  const ticks = points.length === 0 ? [] : [...new Set([0, Math.floor((points.length - 1) / 2), points.length - 1])];
  const max = Math.max(1, ...points.flatMap((p) => series.map((s) => p[s.key] ?? 0)));
  const x = (i: number) => pad + (points.length <= 1 ? 0 : (i * (w - pad - 8)) / (points.length - 1));
  const y = (v: number) => h - pad + 4 - (v / max) * (h - pad - 8);
  return (
    <figure class="chart">
      <figcaption>{title}{unit ? ` (${unit})` : ''}</figcaption>
      <svg viewBox={`0 0 ${w} ${h}`} role="img" aria-label={title}>
        <line x1={pad} y1={h - pad + 4} x2={w - 8} y2={h - pad + 4} class="axis" />
        <line x1={pad} y1={4} x2={pad} y2={h - pad + 4} class="axis" />
        <text x={2} y={12} class="tick">{Math.round(max * 100) / 100}</text>
        <text x={2} y={h - pad + 4} class="tick">0</text>
        {ticks.map((i, n) => (
          <text key={i} x={x(i)} y={h - 6} class="time" text-anchor={n === 0 ? 'start' : n === ticks.length - 1 ? 'end' : 'middle'}>
            {clock(points[i]?.t)}
          </text>
        ))}
        {series.map((s) => (
          <polyline key={s.key} fill="none" stroke={s.color} stroke-width="2" points={points.map((p, i) => `${x(i)},${y(p[s.key] ?? 0)}`).join(' ')} />
        ))}
      </svg>
      <div class="legend">
        {series.map((s) => (
          <span key={s.key}><i style={{ background: s.color }} /> {s.label ?? s.key}</span>
        ))}
      </div>
    </figure>
  );
}
