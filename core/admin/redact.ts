const SECRET_KEY = /(secret|password|passwd|token|api[-_]?key|authorization|cookie|credential|private)/i;
/** Objects whose every value may be a credential (process environments, extra headers). */
const SECRET_MAPS = new Set(['env', 'headers']);

/** A copy of a config for display, with values that may be credentials replaced by "[redacted]". */
export function redactSecrets(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) return value.map((v) => redactSecrets(v));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (SECRET_MAPS.has(key) && typeof v === 'string') out[k] = '[redacted]';
      else if (SECRET_KEY.test(k) && v !== undefined && typeof v !== 'object') out[k] = '[redacted]';
      else out[k] = redactSecrets(v, k);
    }
    return out;
  }
  return value;
}
