// The lines the admin API serves (traffic, decisions, reloads): shared by the admin server and the UI, which
// imports these types without anything else of the gateway, so this file imports nothing.

/** One protocol message of a request, as the Traffic page shows it. */
export interface MessageLine {
  /** The message protocol's name (`mcp`, `a2a`, a plugged-in one). */
  protocol: string;
  method: string;
  target?: string;
  tool?: string;
  prompt?: string;
  resourceUri?: string;
  skill?: string;
  taskId?: string;
  outcome?: 'ok' | 'error';
  rpcErrorCode?: number;
  errorMessage?: string;
  durationMs?: number;
}

/** One policy decision (authentication, rate limit, filter, authorization). */
export interface DecisionLine {
  time: string;
  requestId: string;
  route: string;
  policy: string;
  level: 'http' | 'message';
  outcome: 'allow' | 'deny' | 'error';
  reason?: string;
  method?: string;
  errorCode?: string;
  traceId?: string;
  /**
   * The input the policy evaluated (authorization), as the gateway built it for this decision, with values under
   * secret-looking keys redacted: what the policy playground evaluates.
   */
  input?: unknown;
}

/** One access-log line, with the messages it carried and the decisions taken on it. */
export interface TrafficLine {
  id: string;
  time: string;
  method: string;
  path: string;
  host: string;
  listener?: string;
  route?: string;
  backend?: string;
  status: number;
  durationMs: number;
  bytesIn: number;
  bytesOut: number;
  client: string;
  errorCode?: string;
  identity?: string;
  traceId?: string;
  messages: MessageLine[];
  decisions: DecisionLine[];
}

/** Where a reload error points: the file, and the line when the message names one, or the config path. */
export interface ErrorLocation {
  file?: string;
  line?: number;
  column?: number;
  /** The config field, for validation errors (`binds[0].port`). */
  path?: string;
}

export interface ReloadLine {
  id: number;
  time: string;
  ok: boolean;
  durationMs: number;
  errorCode?: string;
  message?: string;
  files?: readonly string[];
  location?: ErrorLocation;
}
