import { PUSH_CONFIG_METHODS } from './methods.ts';

/** Deepest nesting the walk follows; a message nested deeper is refused before it is walked (see `jsonDepth`). */
const MAX_WALK = 10_000;

/**
 * A key as A2A implementations read it, whatever the spelling: `task_push_notification_config`,
 * `taskPushNotificationConfig` and `TaskPushNotificationConfig` are one key (ts-proto's `fromJSON`, which
 * `@a2a-js/sdk` uses, accepts both camelCase and snake_case for every field).
 */
const normalKey = (k: string): string => (k.includes('_') || k.includes('-') ? k.replace(/[_-]/g, '') : k).toLowerCase();

/**
 * Every push-notification URL a message gives the agent, in every spelling an agent accepts: anything named `url`
 * inside a value whose key names a push notification (`configuration.taskPushNotificationConfig`, v0.3
 * `pushNotificationConfig`, snake_case, nested or top-level), and, for a push-config method, anything named `url`
 * anywhere in its params (v1.0 puts it at the top). A non-string `url` is returned as is, for the caller to refuse:
 * agents coerce it to a string. The walk is iterative and bounded, so no nesting can overflow the stack.
 */
export function pushUrlsOf(method: string, params: Record<string, unknown> | undefined): unknown[] {
  if (!params || typeof params !== 'object') return [];
  const urls: unknown[] = [];
  const stack: Array<{ value: unknown; underPush: boolean }> = [{ value: params, underPush: PUSH_CONFIG_METHODS.has(method) }];
  let visited = 0;
  while (stack.length > 0) {
    const { value, underPush } = stack.pop()!;
    if (++visited > MAX_WALK) {
      urls.push(undefined); // too large to check: refused like a URL that is not allowed
      break;
    }
    if (Array.isArray(value)) {
      for (const v of value) if (v && typeof v === 'object') stack.push({ value: v, underPush });
      continue;
    }
    for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
      const k = normalKey(key);
      const push = underPush || k.includes('push');
      if (push && k === 'url' && v !== undefined && v !== null) urls.push(v);
      else if (v && typeof v === 'object') stack.push({ value: v, underPush: push });
    }
  }
  return urls;
}
