import { ErrorCodes, GatewayError } from '../../errors.ts';
import type { A2aMessage } from '../../pipeline/index.ts';

export { CARD_METHODS, KNOWN_METHODS, PUSH_CONFIG_METHODS, STREAMING_METHODS } from '../../protocol/a2a-methods.ts';

const SEND_METHODS = new Set(['message/send', 'message/stream', 'SendMessage', 'SendStreamingMessage']);

const obj = (v: unknown): Record<string, unknown> | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * What policies decide on, read from a message's params: the skill it names (`metadata.skill` of the params or of
 * the message: A2A messages carry no skill field of their own), the task and context ids, and the kind and size of
 * every part (v0.3 `kind` text/file/data; v1.0 `text`, `raw`/`url` as file, `data`), never their content.
 */
export function describeMessage(method: string, params: Record<string, unknown> | undefined, agent: string): A2aMessage {
  const msg: A2aMessage = { method, params, agent };
  if (!params) return msg;
  const message = SEND_METHODS.has(method) ? obj(params.message) : undefined;
  const skill = str(obj(params.metadata)?.skill) ?? str(obj(message?.metadata)?.skill);
  if (skill) msg.skill = skill;
  const taskId = message ? str(message.taskId) : (str(params.taskId) ?? str(params.id));
  if (taskId) msg.taskId = taskId;
  const contextId = message ? str(message.contextId) : str(params.contextId);
  if (contextId) msg.contextId = contextId;
  if (message && Array.isArray(message.parts)) msg.parts = message.parts.map(partOf);
  return msg;
}

function partOf(raw: unknown): { kind: string; bytes: number } {
  const p = obj(raw) ?? {};
  const file = obj(p.file);
  if (p.kind === 'text' || typeof p.text === 'string') return { kind: 'text', bytes: Buffer.byteLength(String(p.text ?? '')) };
  if (p.kind === 'file' || file || p.raw !== undefined || p.url !== undefined) {
    const bytes = file?.bytes ?? p.raw;
    if (typeof bytes === 'string') return { kind: 'file', bytes: Math.floor((bytes.replace(/=+$/, '').length * 3) / 4) };
    return { kind: 'file', bytes: Buffer.byteLength(String(file?.uri ?? p.url ?? '')) };
  }
  if (p.kind === 'data' || p.data !== undefined) return { kind: 'data', bytes: Buffer.byteLength(JSON.stringify(p.data ?? null)) };
  return { kind: typeof p.kind === 'string' ? p.kind : 'unknown', bytes: Buffer.byteLength(JSON.stringify(p)) };
}

/** One HTTP+JSON (REST) call named by its JSON-RPC equivalent, with the params a policy decides on. */
export interface RestCall {
  method: string;
  params: Record<string, unknown> | undefined;
  streaming: boolean;
}

/** A path segment, percent-decoded; a malformed escape (`%zz`, `%E0%A4`) is the client's error, a 400. */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new GatewayError(ErrorCodes.BAD_REQUEST, `the task id ${JSON.stringify(segment.slice(0, 100))} in the path has a malformed percent-escape`);
  }
}

/**
 * The REST binding's endpoints (v1.0 at the interface's root, v0.3 under `/v1`, both optionally under a
 * `/{tenant}`), as the JSON-RPC method each stands for. Undefined for a path that is not a REST endpoint.
 */
export function restCallOf(httpMethod: string, path: string, body: Record<string, unknown> | undefined): RestCall | undefined {
  const m = /(?:^|\/)(message:send|message:stream|card|extendedAgentCard|tasks(?:\/([^/]+?)(:cancel|:subscribe|\/pushNotificationConfigs(?:\/([^/]+))?)?)?)$/.exec(path);
  if (!m) return undefined;
  const v03 = /(^|\/)v1\//.test(path);
  const [, what, taskId, tail, configId] = m;
  const id = taskId === undefined ? undefined : decodeSegment(taskId);
  const call = (v1: string, legacy: string, params: Record<string, unknown> | undefined, streaming = false): RestCall => ({ method: v03 ? legacy : v1, params, streaming });
  if (what === 'message:send' && httpMethod === 'POST') return call('SendMessage', 'message/send', body);
  if (what === 'message:stream' && httpMethod === 'POST') return call('SendStreamingMessage', 'message/stream', body, true);
  if ((what === 'card' || what === 'extendedAgentCard') && httpMethod === 'GET') return call('GetExtendedAgentCard', 'agent/getAuthenticatedExtendedCard', undefined);
  if (what === 'tasks' && httpMethod === 'GET') return call('ListTasks', 'ListTasks', undefined);
  if (id === undefined) return undefined;
  if (tail === undefined && httpMethod === 'GET') return call('GetTask', 'tasks/get', { id });
  if (tail === ':cancel' && httpMethod === 'POST') return call('CancelTask', 'tasks/cancel', { id });
  if (tail === ':subscribe' && (httpMethod === 'GET' || httpMethod === 'POST')) return call('SubscribeToTask', 'tasks/resubscribe', { id }, true);
  if (tail?.startsWith('/pushNotificationConfigs')) {
    if (httpMethod === 'POST' && configId === undefined) return call('CreateTaskPushNotificationConfig', 'tasks/pushNotificationConfig/set', { ...body, taskId: id });
    if (httpMethod === 'GET' && configId === undefined) return call('ListTaskPushNotificationConfigs', 'tasks/pushNotificationConfig/list', { id });
    if (httpMethod === 'GET') return call('GetTaskPushNotificationConfig', 'tasks/pushNotificationConfig/get', { id, pushNotificationConfigId: configId });
    if (httpMethod === 'DELETE') return call('DeleteTaskPushNotificationConfig', 'tasks/pushNotificationConfig/delete', { id, pushNotificationConfigId: configId });
  }
  return undefined;
}
