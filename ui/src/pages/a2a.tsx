import { useState } from 'preact/hooks';
import { post, postStream } from '../api.ts';
import { CredentialPicker, Decisions, ErrorBox, Exchange, Json, RoutePicker, useRoutes } from '../components.tsx';
import type { Credential, DecisionLine, ExchangeEntry, PictureRoute } from '../types.ts';

interface A2aResult { status?: number; body?: unknown; exchange: ExchangeEntry[]; decisions: DecisionLine[] }
interface CardResult extends A2aResult { endpoints?: { jsonrpc?: string; rest?: string }; version?: string }

/** The paths of a route's agents (`a2a: { agents }`): the route's own path, then the agent's name. */
function agentPaths(route: PictureRoute | undefined): Array<{ name: string; path: string }> {
  if (!route) return [];
  const base = new URL(route.url).pathname.replace(/\/$/, '');
  return route.backends.filter((b) => b.kind === 'a2a').flatMap((b) => b.targets.map((t) => ({ name: t.name, path: `${base}/${t.name}` })));
}

const skillsOf = (card: unknown): string[] => {
  const skills = (card as { skills?: Array<{ id?: string }> } | undefined)?.skills;
  return Array.isArray(skills) ? skills.map((s) => s.id).filter((s): s is string => typeof s === 'string') : [];
};

export function A2aPlayground() {
  const { routes, error: routesError } = useRoutes();
  const [route, setRoute] = useState('');
  const [path, setPath] = useState('');
  const [credential, setCredential] = useState<Credential>({ kind: 'none' });
  const [text, setText] = useState('hello');
  const [version, setVersion] = useState<'0.3' | '1.0'>('1.0');
  const [binding, setBinding] = useState<'jsonrpc' | 'rest'>('jsonrpc');
  const [skill, setSkill] = useState('');
  const [card, setCard] = useState<CardResult>();
  const [sent, setSent] = useState<A2aResult>();
  const [events, setEvents] = useState<Array<{ event: string; data: unknown }>>([]);
  const [streamDecisions, setStreamDecisions] = useState<DecisionLine[]>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const a2aRoutes = routes.filter((r) => r.protocol === 'a2a');
  const agents = agentPaths(routes.find((r) => r.name === route));
  const body = () => ({ route, ...(path ? { path } : {}), credential, version, binding, ...(skill ? { skill } : {}) });

  const run = async (fn: () => Promise<void>) => {
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
      <h2>A2A playground</h2>
      <p class="muted">
        The agent card as a caller sees it, a message sent, a stream watched: through the gateway, to the JSON-RPC or REST endpoint the card names.
      </p>
      <ErrorBox error={routesError} />
      {routes.length > 0 && a2aRoutes.length === 0 && (
        <p class="empty a2a-empty">
          No A2A route in the running config. Add a route with an <code>a2a</code> backend, for example{' '}
          <code>{"backends: [{ a2a: { agents: [{ name: 'research', url: 'http://127.0.0.1:3601' }] } }]"}</code>, and save: the gateway
          reloads and the route picker offers it with its agents (<code>examples/a2a</code> is a complete one). An agent behind a plain
          HTTP route can still be tried below: choose its route.
        </p>
      )}
      <div class="toolbar">
        <RoutePicker
          routes={routes}
          value={route}
          onChange={(r) => {
            setRoute(r);
            const first = agentPaths(routes.find((x) => x.name === r))[0];
            setPath(first?.path ?? '');
            setCard(undefined);
          }}
          prefer="a2a"
        />
        {agents.length > 0 && (
          <label>
            agent{' '}
            <select
              name="agent"
              value={agents.find((a) => a.path === path)?.path ?? ''}
              onChange={(e) => {
                setPath((e.target as HTMLSelectElement).value);
                setCard(undefined);
              }}
            >
              {agents.map((a) => (
                <option key={a.path} value={a.path}>
                  {a.name}
                </option>
              ))}
            </select>
          </label>
        )}
        <label>
          path <input name="path" placeholder="the agent's path, e.g. /agents/research" value={path} onInput={(e) => setPath((e.target as HTMLInputElement).value)} />
        </label>
        <CredentialPicker value={credential} onChange={setCredential} />
        <label>
          protocol{' '}
          <select name="version" value={version} onChange={(e) => setVersion((e.target as HTMLSelectElement).value as '0.3' | '1.0')}>
            <option value="1.0">A2A v1.0 (SendMessage)</option>
            <option value="0.3">A2A v0.3 (message/send)</option>
          </select>
        </label>
        <button type="button" disabled={!route || busy} onClick={() => run(async () => setCard({ ...(await post<CardResult>('/api/a2a/card', body())), version }))}>
          Get card
        </button>
      </div>
      <ErrorBox error={error} />
      {card && (
        <div class="a2a-card">
          <h4>
            Agent card, A2A {card.version} (HTTP {card.status ?? '—'})
          </h4>
          {card.endpoints && (
            <p class="endpoints">
              JSON-RPC: <code class="endpoint-jsonrpc">{card.endpoints.jsonrpc ?? 'none'}</code> · REST: <code class="endpoint-rest">{card.endpoints.rest ?? 'none'}</code>
            </p>
          )}
          <Json value={card.body} label="card" />
        </div>
      )}
      <form
        class="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          void run(async () => setSent(await post<A2aResult>('/api/a2a/send', { ...body(), text })));
        }}
      >
        <label>
          message <input name="message" value={text} onInput={(e) => setText((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          skill{' '}
          <input name="skill" list="a2a-skills" placeholder="metadata.skill" value={skill} onInput={(e) => setSkill((e.target as HTMLInputElement).value)} />
          <datalist id="a2a-skills">
            {skillsOf(card?.body).map((s) => (
              <option key={s} value={s} />
            ))}
          </datalist>
        </label>
        <label>
          binding{' '}
          <select name="binding" value={binding} onChange={(e) => setBinding((e.target as HTMLSelectElement).value as 'jsonrpc' | 'rest')}>
            <option value="jsonrpc">JSON-RPC</option>
            <option value="rest">REST (HTTP+JSON)</option>
          </select>
        </label>
        <button type="submit" disabled={!route || busy}>Send</button>
        <button
          type="button"
          disabled={!route || busy}
          onClick={() =>
            run(async () => {
              setEvents([]);
              setStreamDecisions(undefined);
              await postStream('/api/a2a/stream', { ...body(), text }, (event, data) => {
                if (event === 'decisions') setStreamDecisions(data as DecisionLine[]);
                else setEvents((prev) => [...prev, { event, data }]);
              });
            })
          }
        >
          Stream
        </button>
      </form>
      {sent && (
        <div class="a2a-send">
          <h4>Answer (HTTP {sent.status ?? '—'})</h4>
          <Json value={sent.body} />
          <h4>Decisions</h4>
          <Decisions decisions={sent.decisions} />
          <Exchange exchange={sent.exchange} />
        </div>
      )}
      {events.length > 0 && (
        <div class="a2a-stream">
          <h4>Stream ({events.filter((e) => e.event === 'event').length} events)</h4>
          <ol>
            {events.map((e, i) => (
              <li key={i} class={`stream-${e.event}`}>
                <b>{e.event}</b> <code class="event-data">{JSON.stringify(e.data)}</code>
              </li>
            ))}
          </ol>
          {streamDecisions && <Decisions decisions={streamDecisions} />}
        </div>
      )}
    </section>
  );
}
