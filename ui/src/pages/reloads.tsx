import { useEffect, useState } from 'preact/hooks';
import { stream } from '../api.ts';
import { Badge } from '../components.tsx';
import type { ReloadLine } from '../types.ts';

export function Reloads() {
  const [reloads, setReloads] = useState<ReloadLine[]>([]);
  const [state, setState] = useState('connecting');
  useEffect(
    () =>
      stream(
        '/api/reloads/stream',
        (event, data) => {
          if (event === 'reload') setReloads((prev) => [data as ReloadLine, ...prev.filter((r) => r.id !== (data as ReloadLine).id)]);
        },
        (s, err) => setState(s === 'live' ? 'live' : `disconnected: ${err ?? ''}`),
      ),
    [],
  );
  return (
    <section>
      <h2>Reloads</h2>
      <p class="muted">
        Each reload of the config since the gateway started: a failed one keeps the previous config serving. <span class="stream-state">{state}</span>
      </p>
      {reloads.length === 0 && <p class="muted">No reload yet: edit the config file and save.</p>}
      <table class="grid reloads">
        <thead>
          <tr><th>time</th><th>outcome</th><th>ms</th><th>changed</th><th>error</th><th>where</th></tr>
        </thead>
        <tbody>
          {reloads.map((r) => (
            <tr key={r.id} class={`reload-line ${r.ok ? 'ok' : 'failed'}`}>
              <td>{r.time.replace('T', ' ').slice(0, 19)}</td>
              <td><Badge kind={r.ok ? 'allow' : 'deny'}>{r.ok ? 'ok' : 'failed'}</Badge></td>
              <td>{r.durationMs}</td>
              <td class="mono">{(r.files ?? []).map((f) => f.split('/').pop()).join(', ')}</td>
              <td>
                {r.errorCode && <b>{r.errorCode} </b>}
                <pre class="inline">{r.message ?? ''}</pre>
              </td>
              <td class="mono reload-location">
                {r.location ? `${r.location.file ?? ''}${r.location.line ? `:${r.location.line}` : ''}${r.location.column ? `:${r.location.column}` : ''}${r.location.path ? ` ${r.location.path}` : ''}` : ''}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
