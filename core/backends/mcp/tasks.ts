// Tasks on a route of several targets. A task lives on the target that created it, so the gateway hands clients
// task ids that name their target, `<target>_<id>`, the way tool names get their `<target>_` prefix, and routes
// `tasks/get`, `tasks/result`, `tasks/update` and `tasks/cancel` by that prefix. Both eras' shapes: the 2025-11-25
// Tasks utility (`{ task: { taskId } }` results, `tasks/list`, `notifications/tasks/status`) and the 2026-07-28
// Tasks extension (`resultType: "task"` results carrying `taskId`, `notifications/tasks`). A route of one target
// passes task ids through untouched.
import { ErrorCodes } from '../../errors.ts';
import { RpcErrors, RpcFailure } from '../../protocol/jsonrpc.ts';
import { longestFirst, type Owned } from './catalog.ts';

/** The methods that name one task by `params.taskId`. */
export const TASK_METHODS: ReadonlySet<string> = new Set(['tasks/get', 'tasks/result', 'tasks/update', 'tasks/cancel']);
/** The notifications that carry a task's state. */
export const TASK_NOTIFICATIONS: ReadonlySet<string> = new Set(['notifications/tasks/status', 'notifications/tasks']);
const RELATED_TASK = 'io.modelcontextprotocol/related-task';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A task id as the client sees it. */
export function clientTaskId(target: string, id: string): string {
  return `${target}_${id}`;
}

/** The owning target of a client-visible task id (the longest target name that prefixes it), or the refusal. */
export function resolveTaskId(targets: readonly string[], clientId: unknown): Owned {
  const id = typeof clientId === 'string' ? clientId : '';
  const target = longestFirst(targets).find((t) => id.startsWith(`${t}_`) && id.length > t.length + 1);
  if (!target) {
    throw new RpcFailure(RpcErrors.INVALID_PARAMS, `Invalid params: unknown task ${JSON.stringify(id.slice(0, 100))}: it names none of this route's targets`, { code: ErrorCodes.MCP_TASK_UNKNOWN });
  }
  return { target, original: id.slice(target.length + 1) };
}

function withTaskId(target: string, value: Obj): Obj {
  return typeof value.taskId === 'string' ? { ...value, taskId: clientTaskId(target, value.taskId) } : value;
}

function withRelatedMeta(target: string, value: Obj): Obj {
  const meta = value._meta;
  if (!isObj(meta) || !isObj(meta[RELATED_TASK])) return value;
  return { ...value, _meta: { ...meta, [RELATED_TASK]: withTaskId(target, meta[RELATED_TASK]) } };
}

/** A target's result with the task ids in it made client-visible (any method's: only task shapes change). */
export function taskIdsOut(target: string, method: string, result: unknown): unknown {
  if (!isObj(result)) return result;
  let out = withRelatedMeta(target, result);
  if (isObj(out.task)) out = { ...out, task: withTaskId(target, out.task) };
  if (out.resultType === 'task' || method === 'tasks/get' || method === 'tasks/cancel') out = withTaskId(target, out);
  if (method === 'tasks/list' && Array.isArray(out.tasks)) out = { ...out, tasks: out.tasks.map((t) => (isObj(t) ? withTaskId(target, t) : t)) };
  return out;
}

/** A target's notification params with the task id made client-visible. */
export function taskNotificationOut(target: string, params: Obj): Obj {
  return withRelatedMeta(target, withTaskId(target, params));
}
