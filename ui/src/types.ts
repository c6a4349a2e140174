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

export interface PictureTarget { name: string; kind: string; path: string; warmPool?: number; tools?: string; health: Health }
export interface PictureBackend { name: string; kind: string; weight: number; path: string; health?: Health; tools?: string; targets: PictureTarget[] }
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

// The traffic, decision and reload lines are the admin server's own types.
export type { DecisionLine, MessageLine, ReloadLine, TrafficLine } from '../../core/admin/lines.ts';

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
