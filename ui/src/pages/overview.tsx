import { useEffect, useState } from 'preact/hooks';
import { get } from '../api.ts';
import { Badge, ErrorBox, Json } from '../components.tsx';
import type { Health, PictureBind } from '../types.ts';

/** How a process ended: its exit code, else the signal that stopped it (a process killed by a signal has no code). */
function exitOf(exit: { code?: number | null; signal?: string | null }): string {
  if (exit.code !== undefined && exit.code !== null) return `code ${exit.code}`;
  if (exit.signal) return `signal ${exit.signal}`;
  return 'ended (no code or signal reported)';
}

/** Follows `binds[0].listeners[1].routes[2]` into the config view. */
function at(config: unknown, path: string): unknown {
  let node: unknown = config;
  for (const part of path.match(/[^.[\]]+/g) ?? []) node = (node as Record<string, unknown> | undefined)?.[part];
  return node;
}

function HealthBadge({ health }: { health?: Health }) {
  if (!health) return null;
  const detail = [
    health.running !== undefined ? `${health.running} running` : '',
    health.pooled ? `${health.pooled} warm` : '',
    health.lastError ? `last error: ${health.lastError.message}` : '',
    health.lastExit ? `last exit: ${exitOf(health.lastExit)}` : '',
  ].filter(Boolean).join(', ');
  return <Badge kind={health.status}>{health.status}{detail ? ` · ${detail}` : ''}</Badge>;
}

export function Overview() {
  const [picture, setPicture] = useState<PictureBind[]>();
  const [config, setConfig] = useState<unknown>();
  const [selected, setSelected] = useState<string>();
  const [error, setError] = useState<string>();

  const load = () =>
    Promise.all([get<{ binds: PictureBind[] }>('/api/picture'), get<unknown>('/api/config')])
      .then(([p, c]) => {
        setPicture(p.binds);
        setConfig(c);
        setError(undefined);
      })
      .catch((e) => setError(e.message));
  useEffect(() => {
    void load();
    const timer = setInterval(load, 5000);
    return () => clearInterval(timer);
  }, []);

  const node = (path: string, label: preact.ComponentChildren, cls: string) => (
    <button type="button" class={`node ${cls} ${selected === path ? 'selected' : ''}`} onClick={() => setSelected(path)} data-path={path}>
      {label}
    </button>
  );

  return (
    <section>
      <h2>Overview</h2>
      <p class="muted">Binds → listeners → routes → backends and MCP targets, with their policies. Click a node for its config (secrets redacted).</p>
      <ErrorBox error={error} />
      <div class="overview">
        <div class="picture">
          {picture?.map((bind) => (
            <div class="tier bind" key={bind.key}>
              {node(bind.path, <><b>bind</b> {bind.address}:{bind.port} <Badge kind="info">{bind.protocol}</Badge></>, 'bind-node')}
              {bind.listeners.map((l) => (
                <div class="tier listener" key={l.path}>
                  {node(l.path, <><b>listener</b> {l.name} <span class="muted">{l.hostname}</span>{l.policies.map((p) => <Badge kind="policy" key={p}>{p}</Badge>)}</>, 'listener-node')}
                  {l.routes.map((r) => (
                    <div class="tier route" key={r.path}>
                      {node(
                        r.path,
                        <>
                          <b>route</b> {r.name} <span class="mono">{r.matches.join(' ')}</span> <Badge kind="info">{r.protocol}</Badge>
                          {r.policies.map((p) => <Badge kind="policy" key={p}>{p}</Badge>)}
                        </>,
                        'route-node',
                      )}
                      {r.backends.map((b) => (
                        <div class="tier backend" key={b.path}>
                          {node(b.path, <><b>{b.kind}</b> {b.name} {b.weight !== 1 ? `(weight ${b.weight})` : ''}{b.tools ? <span class="muted tools-label"> {b.tools}</span> : null} <HealthBadge health={b.health} /></>, 'backend-node')}
                          {b.targets.map((t) => (
                            <div class="tier target" key={t.path}>
                              {node(t.path, <><b>target</b> {t.name} <Badge kind="info">{t.kind}</Badge>{t.warmPool !== undefined ? <span class="muted"> warm pool {t.warmPool}</span> : null}{t.tools ? <span class="muted tools-label"> tools: {t.tools}</span> : null} <HealthBadge health={t.health} /></>, 'target-node')}
                            </div>
                          ))}
                        </div>
                      ))}
                    </div>
                  ))}
                </div>
              ))}
            </div>
          ))}
        </div>
        <aside class="detail">
          <h3>{selected ?? 'Config'}</h3>
          <Json value={selected ? at(config, selected) : config} label="config" />
        </aside>
      </div>
    </section>
  );
}
