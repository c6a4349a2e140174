import { PUSH_CONFIG_METHODS } from './methods.ts';

const obj = (v: unknown): Record<string, unknown> | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);

/**
 * Every push-notification URL a message gives the agent: in a send's `configuration` (v0.3
 * `pushNotificationConfig`, v1.0 `taskPushNotificationConfig`) and in the params of a push-config method (v0.3
 * `pushNotificationConfig.url`, v1.0 `url`, or under `config`).
 */
export function pushUrlsOf(method: string, params: Record<string, unknown> | undefined): unknown[] {
  if (!params) return [];
  const urls: unknown[] = [];
  const add = (holder: unknown) => {
    const o = obj(holder);
    if (o && 'url' in o) urls.push(o.url);
  };
  const configuration = obj(params.configuration);
  add(configuration?.pushNotificationConfig);
  add(configuration?.taskPushNotificationConfig);
  if (PUSH_CONFIG_METHODS.has(method)) {
    add(params);
    add(params.pushNotificationConfig);
    add(params.config);
    add(obj(params.config)?.pushNotificationConfig);
  }
  return urls;
}

/**
 * The allowlist of push URLs, built once: a URL is allowed when its scheme, host and port are those of an entry
 * and its path starts with the entry's. A URL with credentials in it is never allowed.
 */
export function createPushAllowlist(allowed: readonly string[]): (url: unknown) => boolean {
  const entries = allowed.map((a) => new URL(a));
  return (url) => {
    if (typeof url !== 'string') return false;
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return false;
    }
    if (u.username || u.password) return false;
    return entries.some((e) => e.protocol === u.protocol && e.host === u.host && u.pathname.startsWith(e.pathname));
  };
}
