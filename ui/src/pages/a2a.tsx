import { useState } from 'preact/hooks';
import { post, postStream } from '../api.ts';
import { CredentialPicker, Decisions, ErrorBox, Exchange, Json, RoutePicker, useRoutes } from '../components.tsx';
import type { Credential, DecisionLine, ExchangeEntry } from '../types.ts';

interface A2aResult { status?: number; body?: unknown; exchange: ExchangeEntry[]; decisions: DecisionLine[] }

export function A2aPlayground() {
  const { routes, error: routesError } = useRoutes();
  const [route, setRoute] = useState('');
  const [path, setPath] = useState('');
  const [credential, setCredential] = useState<Credential>({ kind: 'none' });
  const [text, setText] = useState('hello');
  const [version, setVersion] = useState<'0.3' | '1.0'>('0.3');
  const [card, setCard] = useState<A2aResult>();
  const [sent, setSent] = useState<A2aResult>();
  const [events, setEvents] = useState<Array<{ event: string; data: unknown }>>([]);
  const [streamDecisions, setStreamDecisions] = useState<DecisionLine[]>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const body = () => ({ route, ...(path ? { path } : {}), credential, version });

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
      <p class="muted">The agent card as a caller sees it, a message sent, a stream watched: A2A JSON-RPC through the gateway.</p>
      <ErrorBox error={routesError} />
      <div class="toolbar">
        <RoutePicker routes={routes} value={route} onChange={setRoute} prefer="a2a" />
        <label>
          path <input name="path" placeholder="the route's path" value={path} onInput={(e) => setPath((e.target as HTMLInputElement).value)} />
        </label>
        <CredentialPicker value={credential} onChange={setCredential} />
        <label>
          protocol{' '}
          <select name="version" value={version} onChange={(e) => setVersion((e.target as HTMLSelectElement).value as '0.3' | '1.0')}>
            <option value="0.3">A2A v0.3 (message/send)</option>
            <option value="1.0">A2A v1.0 (SendMessage)</option>
          </select>
        </label>
        <button type="button" disabled={!route || busy} onClick={() => run(async () => setCard(await post<A2aResult>('/api/a2a/card', body())))}>
          Get card
        </button>
      </div>
      <ErrorBox error={error} />
      {card && (
        <div class="a2a-card">
          <h4>Agent card (HTTP {card.status ?? '—'})</h4>
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
