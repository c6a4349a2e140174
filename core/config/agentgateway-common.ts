import type { Issue } from '../schema/index.ts';

/** The one message for an agentgateway feature Portcullis does not have, with an optional way round it. */
export function unsupported(feature: string, path: string, hint = ''): Issue {
  return { path, message: `agentgateway feature \`${feature}\` is not supported by Portcullis${hint ? ` (${hint})` : ''}` };
}

export function durationIssue(path: string, value: unknown): Issue {
  return { path, message: `expected a duration such as "500ms", "10s", "1m30s" or a number of milliseconds, got ${JSON.stringify(value)}` };
}

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h|d))+$/;
const PART = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d)/g;

/** `250ms`, `10s`, `1.5m`, `1h`, `1m30s` (agentgateway's and Go's spellings) or a number of milliseconds. */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (!DURATION.test(text)) return undefined;
  let ms = 0;
  for (const m of text.matchAll(PART)) ms += Number(m[1]) * UNIT_MS[m[2]];
  return Math.round(ms);
}
