import { useState } from 'preact/hooks';
import { post } from '../api.ts';
import { Badge, CredentialPicker, Decisions, ErrorBox, Exchange, Json, RoutePicker, useRoutes } from '../components.tsx';
import type { Credential, DecisionLine, ExchangeEntry, RpcReply } from '../types.ts';

interface Tool {
  name: string;
  description?: string;
  inputSchema?: { properties?: Record<string, JsonSchema>; required?: string[] };
}
interface JsonSchema {
  type?: string | string[];
  enum?: unknown[];
  description?: string;
  default?: unknown;
}
interface ListResult { ok: boolean; initialize?: RpcReply; tools?: RpcReply; prompts?: RpcReply; resources?: RpcReply; exchange: ExchangeEntry[]; decisions: DecisionLine[] }
interface CallResult { ok: boolean; denied: boolean; reply: RpcReply; exchange: ExchangeEntry[]; decisions: DecisionLine[] }

const typeOf = (s: JsonSchema) => (Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type) ?? 'string';

/** Turns the form's strings into the types the schema asks for. */
function toArguments(tool: Tool, values: Record<string, string | boolean>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(tool.inputSchema?.properties ?? {})) {
    const v = values[name];
    if (v === undefined || v === '') continue;
    const t = typeOf(schema);
    if (t === 'number' || t === 'integer') out[name] = Number(v);
    else if (t === 'boolean') out[name] = v === true || v === 'true';
    else if (t === 'object' || t === 'array') out[name] = JSON.parse(String(v));
    else out[name] = v;
  }
  return out;
}

function ToolForm({ tool, onCall, busy }: { tool: Tool; onCall: (args: Record<string, unknown>) => void; busy: boolean }) {
  const [values, setValues] = useState<Record<string, string | boolean>>({});
  const [error, setError] = useState<string>();
  const props = Object.entries(tool.inputSchema?.properties ?? {});
  const required = new Set(tool.inputSchema?.required ?? []);
  return (
    <form
      class="tool-form"
      onSubmit={(e) => {
        e.preventDefault();
        try {
          setError(undefined);
          onCall(toArguments(tool, values));
        } catch (err) {
          setError(`arguments: ${(err as Error).message}`);
        }
      }}
    >
      <h4>{tool.name}</h4>
      <p class="muted">{tool.description}</p>
      {props.length === 0 && <p class="muted">No arguments.</p>}
      {props.map(([name, schema]) => {
        const t = typeOf(schema);
        const set = (v: string | boolean) => setValues({ ...values, [name]: v });
        return (
          <label key={name} class="arg">
            <span>
              {name}
              {required.has(name) ? ' *' : ''} <span class="muted">({t})</span>
            </span>
            {schema.enum ? (
              <select name={`arg-${name}`} onChange={(e) => set((e.target as HTMLSelectElement).value)}>
                <option value="" />
                {schema.enum.map((o) => <option key={String(o)} value={String(o)}>{String(o)}</option>)}
              </select>
            ) : t === 'boolean' ? (
              <input name={`arg-${name}`} type="checkbox" onChange={(e) => set((e.target as HTMLInputElement).checked)} />
            ) : t === 'object' || t === 'array' ? (
              <textarea name={`arg-${name}`} rows={3} placeholder="JSON" onInput={(e) => set((e.target as HTMLTextAreaElement).value)} />
            ) : t === 'number' || t === 'integer' ? (
              <input name={`arg-${name}`} type="number" step="any" placeholder={schema.default !== undefined ? String(schema.default) : ''} onInput={(e) => set((e.target as HTMLInputElement).value)} />
            ) : (
              <input name={`arg-${name}`} type="text" placeholder={schema.default !== undefined ? String(schema.default) : ''} onInput={(e) => set((e.target as HTMLInputElement).value)} />
            )}
            {schema.description && <small class="muted">{schema.description}</small>}
          </label>
        );
      })}
      <ErrorBox error={error} />
      <button type="submit" disabled={busy}>Call {tool.name}</button>
    </form>
  );
}

function Listing({ title, reply, render }: { title: string; reply?: RpcReply; render: (item: Record<string, unknown>) => preact.ComponentChildren }) {
  if (!reply) return null;
  const key = title.toLowerCase();
  const items = ((reply.result as Record<string, unknown[]> | undefined)?.[key] ?? []) as Array<Record<string, unknown>>;
  return (
    <div class={`listing listing-${key}`}>
      <h4>{title} ({items.length})</h4>
      {reply.error && <ErrorBox error={`${reply.error.code}: ${reply.error.message}`} />}
      <ul>{items.map((i, n) => <li key={n}>{render(i)}</li>)}</ul>
    </div>
  );
}

export function McpPlayground() {
  const { routes, error: routesError } = useRoutes();
  const [route, setRoute] = useState('');
  const [path, setPath] = useState('');
  const [credential, setCredential] = useState<Credential>({ kind: 'none' });
  const [list, setList] = useState<ListResult>();
  const [tool, setTool] = useState<Tool>();
  const [call, setCall] = useState<CallResult>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();

  const body = () => ({ route, ...(path ? { path } : {}), credential });
  const doList = async () => {
    setBusy(true);
    setError(undefined);
    setList(undefined);
    setCall(undefined);
    setTool(undefined);
    try {
      setList(await post<ListResult>('/api/mcp/list', body()));
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const doCall = async (args: Record<string, unknown>) => {
    setBusy(true);
    setError(undefined);
    setCall(undefined);
    try {
      setCall(await post<CallResult>('/api/mcp/call', { ...body(), tool: tool!.name, arguments: args }));
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const tools = ((list?.tools?.result as { tools?: Tool[] } | undefined)?.tools ?? []) as Tool[];

  return (
    <section>
      <h2>MCP playground</h2>
      <p class="muted">List and call what an MCP route offers, as a chosen caller, through the gateway itself.</p>
      <ErrorBox error={routesError} />
      {routes.length > 0 && !routes.some((r) => r.protocol === 'mcp') && (
        <p class="empty mcp-empty">
          No MCP route in the running config. Add a route with an <code>mcp</code> backend, for example{' '}
          <code>{"backends: [{ mcp: { targets: [{ name: 'everything', stdio: { cmd: 'npx', args: ['@modelcontextprotocol/server-everything'] } }] } }]"}</code>, and
          save: the gateway reloads and the route picker offers it (<code>examples/basic</code> is the smallest one).
        </p>
      )}
      <form
        class="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          void doList();
        }}
      >
        <RoutePicker routes={routes} value={route} onChange={setRoute} prefer="mcp" />
        <label>
          path <input name="path" placeholder="the route's path" value={path} onInput={(e) => setPath((e.target as HTMLInputElement).value)} />
        </label>
        <CredentialPicker value={credential} onChange={setCredential} />
        <button type="submit" disabled={!route || busy}>List tools, prompts, resources</button>
      </form>
      <ErrorBox error={error} />
      {list && (
        <div class="mcp-result">
          {!list.ok && <ErrorBox error={`initialize failed: ${list.initialize?.failure ?? list.initialize?.error?.message ?? 'no answer'}`} />}
          <div class="cols">
            <div>
              <Listing title="Tools" reply={list.tools} render={(t) => (
                <button type="button" class={`link tool-item ${tool?.name === t.name ? 'selected' : ''}`} data-tool={String(t.name)} onClick={() => { setTool(t as unknown as Tool); setCall(undefined); }}>
                  {String(t.name)}
                </button>
              )} />
              <Listing title="Prompts" reply={list.prompts} render={(p) => <span>{String(p.name)}</span>} />
              <Listing title="Resources" reply={list.resources} render={(r) => <span class="mono">{String(r.uri)}</span>} />
            </div>
            <div>
              {tool && <ToolForm key={tool.name} tool={tool} onCall={doCall} busy={busy} />}
              {call && (
                <div class="call-result">
                  <h4>
                    Result{' '}
                    {call.denied ? <Badge kind="deny">denied</Badge> : call.ok ? <Badge kind="allow">ok</Badge> : <Badge kind="error">error</Badge>}
                  </h4>
                  {call.reply.error && <ErrorBox error={`JSON-RPC ${call.reply.error.code}: ${call.reply.error.message}`} />}
                  {call.reply.failure && <ErrorBox error={call.reply.failure} />}
                  <Json value={call.reply.result ?? call.reply.error ?? call.reply.failure} label="result" />
                  <h4>Decisions</h4>
                  <Decisions decisions={call.decisions} />
                  <Exchange exchange={call.exchange} />
                </div>
              )}
            </div>
          </div>
          {!call && (
            <>
              <h4>Decisions</h4>
              <Decisions decisions={list.decisions} />
              <Exchange exchange={list.exchange} />
            </>
          )}
        </div>
      )}
    </section>
  );
}
