import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { onAuthNeeded, session, setToken } from './api.ts';
import { A2aPlayground } from './pages/a2a.tsx';
import { Credentials } from './pages/credentials.tsx';
import { McpPlayground } from './pages/mcp.tsx';
import { Metrics } from './pages/metrics.tsx';
import { Overview } from './pages/overview.tsx';
import { Policies } from './pages/policies.tsx';
import { Reloads } from './pages/reloads.tsx';
import { Traffic } from './pages/traffic.tsx';
import type { TrafficLine } from './types.ts';
import './style.css';

const PAGES = [
  ['overview', 'Overview'],
  ['traffic', 'Traffic'],
  ['mcp', 'MCP playground'],
  ['a2a', 'A2A playground'],
  ['policies', 'Policies'],
  ['metrics', 'Metrics'],
  ['reloads', 'Reloads'],
  ['credentials', 'Credentials'],
] as const;
type Page = (typeof PAGES)[number][0];

const pageOf = (hash: string): Page => (PAGES.find(([id]) => `#/${id}` === hash)?.[0] ?? 'overview');

function TokenPrompt({ message, onDone }: { message: string; onDone: () => void }) {
  const [value, setValue] = useState('');
  return (
    <div class="token-prompt" role="dialog" aria-label="Admin token">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          setToken(value.trim());
          onDone();
        }}
      >
        <h2>Admin token</h2>
        <p>{message}</p>
        <p class="muted">The token is <code>admin.token</code> in the config, or the one the gateway printed at start. It is kept for this tab only.</p>
        <input name="admin-token" type="password" autocomplete="off" autofocus value={value} onInput={(e) => setValue((e.target as HTMLInputElement).value)} />
        <button type="submit">Continue</button>
      </form>
    </div>
  );
}

function App() {
  const [page, setPage] = useState<Page>(pageOf(location.hash));
  const [auth, setAuth] = useState<string>();
  const [ready, setReady] = useState(false);
  const [generation, setGeneration] = useState(0);
  const [prefill, setPrefill] = useState<TrafficLine>();

  useEffect(() => {
    const onHash = () => setPage(pageOf(location.hash));
    addEventListener('hashchange', onHash);
    const off = onAuthNeeded((message) => setAuth(message));
    return () => {
      removeEventListener('hashchange', onHash);
      off();
    };
  }, []);
  useEffect(() => {
    session().then(() => setReady(true), () => {});
  }, [generation]);

  const go = (p: Page) => {
    location.hash = `#/${p}`;
  };

  return (
    <div class="app">
      <header>
        <h1>Portcullis</h1>
        <nav>
          {PAGES.map(([id, label]) => (
            <a key={id} href={`#/${id}`} class={page === id ? 'active' : ''} data-page={id}>
              {label}
            </a>
          ))}
        </nav>
      </header>
      {auth !== undefined && (
        <TokenPrompt
          message={auth}
          onDone={() => {
            setAuth(undefined);
            setReady(false);
            setGeneration((g) => g + 1);
          }}
        />
      )}
      <main key={generation}>
        {!ready && auth === undefined && <p class="muted">Connecting…</p>}
        {ready && page === 'overview' && <Overview />}
        {ready && page === 'traffic' && (
          <Traffic
            onPrefill={(line) => {
              setPrefill(line);
              go('policies');
            }}
          />
        )}
        {ready && page === 'mcp' && <McpPlayground />}
        {ready && page === 'a2a' && <A2aPlayground />}
        {ready && page === 'policies' && <Policies prefill={prefill} />}
        {ready && page === 'metrics' && <Metrics />}
        {ready && page === 'reloads' && <Reloads />}
        {ready && page === 'credentials' && <Credentials />}
      </main>
    </div>
  );
}

render(<App />, document.getElementById('app')!);
