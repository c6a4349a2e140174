// The shapes of the admin API's answers (core/admin), as far as the pages read them.

export interface Health {
  status: 'up' | 'failed' | 'restarting' | 'unknown';
  running?: number;
  pooled?: number;
  starts?: number;
  lastExit?: { time: string; code?: number | null; signal?: string | null };
  lastError?: { time: string; message: string };
  lastOkAt?: string;
}

export interface PictureTarget { name: string; kind: string; path: string; warmPool?: number; health: Health }
export interface PictureBackend { name: string; kind: string; weight: number; path: string; health?: Health; targets: PictureTarget[] }
export interface PictureRoute {
  name: string;
  path: string;
  matches: string[];
  hostnames: string[];
  policies: string[];
  backends: PictureBackend[];
  protocol: string;
  url: string;
}
export interface PictureListener { name: string; hostname: string; protocol: string; path: string; policies: string[]; routes: PictureRoute[] }
export interface PictureBind { key: string; address: string; port: number; protocol: string; path: string; listeners: PictureListener[] }

export interface MessageLine {
  protocol: string;
  method: string;
  target?: string;
  tool?: string;
  prompt?: string;
  resourceUri?: string;
  skill?: string;
  outcome?: string;
  rpcErrorCode?: number;
  errorMessage?: string;
  durationMs?: number;
}

export interface DecisionLine {
  time: string;
  requestId: string;
  route: string;
  policy: string;
  level: string;
  outcome: 'allow' | 'deny' | 'error';
  reason?: string;
  method?: string;
  errorCode?: string;
  traceId?: string;
}

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

export interface ReloadLine {
  id: number;
  time: string;
  ok: boolean;
  durationMs: number;
  errorCode?: string;
  message?: string;
  files?: string[];
  location?: { file?: string; line?: number; column?: number; path?: string };
}

export interface ExchangeEntry {
  requestId: string;
  request: { method: string; url: string; headers: Record<string, string>; body?: unknown };
  response?: { status: number; headers: Record<string, string>; body?: unknown; events?: unknown[] };
  error?: string;
}

export interface RpcReply {
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
  httpStatus?: number;
  failure?: string;
}

export interface Credential { kind: 'none' | 'apiKey' | 'bearer'; value?: string; header?: string }
