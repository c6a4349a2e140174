// The admin API as the UI uses it: the token (when the server wants one) kept for this tab only, the CSRF token
// sent on every POST, and live streams read from fetch (EventSource cannot send the Authorization header).

import { createSseDecoder } from '../../core/protocol/sse.ts';

const TOKEN_KEY = 'portcullis-admin-token';

export class ApiError extends Error {
  readonly status: number;
  readonly code?: string;
  constructor(status: number, message: string, code?: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

type AuthListener = (message: string) => void;
const authListeners = new Set<AuthListener>();

/** Called when the server answers 401: the app shows the token prompt. */
export function onAuthNeeded(fn: AuthListener): () => void {
  authListeners.add(fn);
  return () => authListeners.delete(fn);
}

export function setToken(token: string): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
  csrf = undefined;
}

function authHeaders(): Record<string, string> {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { authorization: `Bearer ${token}` } : {};
}

let csrf: string | undefined;

async function check(res: Response): Promise<Response> {
  if (res.ok) return res;
  let message = `HTTP ${res.status}`;
  let code: string | undefined;
  try {
    const body = await res.json();
    message = body?.error?.message ?? message;
    code = body?.error?.code;
  } catch {
    // not JSON
  }
  if (res.status === 401) for (const fn of authListeners) fn(message);
  throw new ApiError(res.status, message, code);
}

export async function get<T>(path: string): Promise<T> {
  const res = await check(await fetch(path, { headers: { accept: 'application/json', ...authHeaders() } }));
  return res.json() as Promise<T>;
}

export interface Session {
  tokenRequired: boolean;
  csrf: string;
  ready: boolean;
}

export async function session(): Promise<Session> {
  const s = await get<Session>('/api/session');
  csrf = s.csrf;
  return s;
}

async function csrfToken(): Promise<string> {
  if (!csrf) await session();
  return csrf!;
}

function postInit(token: string, body: unknown, signal?: AbortSignal): RequestInit {
  return {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-portcullis-csrf': token, ...authHeaders() },
    body: JSON.stringify(body),
    signal,
  };
}

export async function post<T>(path: string, body: unknown): Promise<T> {
  const res = await check(await fetch(path, postInit(await csrfToken(), body)));
  return res.json() as Promise<T>;
}

/** Reads an SSE response event by event until it ends or `signal` aborts. */
async function readSse(res: Response, onEvent: (event: string, data: unknown) => void): Promise<void> {
  // The gateway's own SSE codec (core/protocol/sse.ts): UTF-8 across chunks, every line ending, bounded events.
  const decoder = createSseDecoder({
    onEvent: (e) => {
      if (e.data === '') return;
      let parsed: unknown = e.data;
      try {
        parsed = JSON.parse(e.data);
      } catch {
        // text event
      }
      onEvent(e.event, parsed);
    },
  });
  const reader = res.body!.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return decoder.end();
    decoder.push(value);
  }
}

/** A live stream (GET, SSE); returns the function that stops it. Reconnects after a drop, at most every 2 s. */
export function stream(path: string, onEvent: (event: string, data: unknown) => void, onState?: (state: 'live' | 'down', error?: string) => void): () => void {
  const controller = new AbortController();
  const run = async () => {
    while (!controller.signal.aborted) {
      try {
        const res = await check(await fetch(path, { headers: { accept: 'text/event-stream', ...authHeaders() }, signal: controller.signal }));
        onState?.('live');
        await readSse(res, onEvent);
      } catch (err) {
        if (controller.signal.aborted) return;
        onState?.('down', (err as Error).message);
        if (err instanceof ApiError && err.status === 401) return;
      }
      await new Promise((r) => setTimeout(r, 2000));
    }
  };
  void run();
  return () => controller.abort();
}

/** A POST whose answer is a stream (the A2A playground's `message/stream`). */
export async function postStream(path: string, body: unknown, onEvent: (event: string, data: unknown) => void, signal?: AbortSignal): Promise<void> {
  const res = await check(await fetch(path, postInit(await csrfToken(), body, signal)));
  await readSse(res, onEvent);
}
