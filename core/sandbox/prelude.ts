/**
 * Code evaluated inside every isolate before and after the user's bundle. Only strings cross the boundary: the
 * host passes JSON text in and gets JSON text back (or '' for "no decision and no log lines"), so no host object, function or prototype is ever reachable
 * from filter code. The builtins the glue needs are captured before user code runs, so a filter that replaces
 * `JSON.stringify` only breaks itself.
 */

/** What `ctx.log` keeps of one call; the README and `sdk-types/filter.ts` state the same numbers. */
export const LOG_LIMITS = { lines: 100, messageChars: 1000, fieldsChars: 4096, totalChars: 32 * 1024 } as const;

/** Evaluated first: defines the two entry points the host calls. */
export const PRELUDE = String.raw`
(function () {
  'use strict';
  const g = globalThis;
  const parse = JSON.parse;
  const stringify = JSON.stringify;
  const freeze = Object.freeze;
  const names = Object.getOwnPropertyNames;
  const isFrozen = Object.isFrozen;
  const StringCtor = String;
  const HOOKS = ['onRequest', 'onResponse', 'onMcpRequest', 'onMcpResponse', 'onA2aRequest', 'onA2aResponse'];
  // ctx.log caps, per call (the README states them): lines, characters of a message, characters of the fields'
  // JSON, and characters of all lines together.
  const LOG_LINES = ${LOG_LIMITS.lines};
  const LOG_MESSAGE = ${LOG_LIMITS.messageChars};
  const LOG_FIELDS = ${LOG_LIMITS.fieldsChars};
  const LOG_TOTAL = ${LOG_LIMITS.totalChars};
  // WebAssembly memory lives outside the isolate's heap and its limit: filters get no WebAssembly at all.
  delete g.WebAssembly;
  let filter = null;
  let config = null;
  let maxResult = 0;

  function deepFreeze(v) {
    if (v && typeof v === 'object' && !isFrozen(v)) {
      freeze(v);
      for (const k of names(v)) deepFreeze(v[k]);
    }
    return v;
  }

  // Frozen prototypes keep one call from polluting the builtins the next call uses. Error prototypes stay
  // writable: freezing them would make the common "this.name = 'MyError'" throw.
  function lockdown() {
    for (const name of names(g)) {
      if (/Error$/.test(name) || name.startsWith('__pcl')) continue;
      const v = g[name];
      if (typeof v === 'function') {
        if (v.prototype && typeof v.prototype === 'object') freeze(v.prototype);
        freeze(v);
      } else if (v && typeof v === 'object' && v !== g) {
        freeze(v);
      }
    }
    freeze(Object.getPrototypeOf(function* () {}));
    freeze(Object.getPrototypeOf(async function () {}));
    // A frozen global object leaves no shared place to stash one request's data for another; state a filter
    // keeps on purpose lives in its own module scope.
    freeze(g);
  }

  function describe(err) {
    try {
      if (err && typeof err === 'object' && typeof err.message === 'string') {
        return StringCtor(err.name || 'Error') + ': ' + err.message.slice(0, 2000);
      }
      return 'threw ' + StringCtor(err).slice(0, 2000);
    } catch (e) {
      return 'threw a value that cannot be described';
    }
  }

  g.__pcl_init = function (configJson, maxResultBytes) {
    maxResult = maxResultBytes;
    const mod = g.__pcl_module;
    const f = mod && typeof mod === 'object' && 'default' in mod ? mod.default : undefined;
    if (!f || typeof f !== 'object') {
      throw new TypeError('the filter file has no default export: write "export default defineFilter({ ... })"');
    }
    const present = [];
    for (const h of HOOKS) {
      if (f[h] === undefined) continue;
      if (typeof f[h] !== 'function') throw new TypeError(h + ' must be a function, got ' + typeof f[h]);
      present.push(h);
    }
    if (present.length === 0) throw new TypeError('the filter defines none of ' + HOOKS.join(', '));
    filter = f;
    config = deepFreeze(parse(configJson));
    g.__pcl_module = undefined;
    lockdown();
    return stringify({ name: typeof f.name === 'string' ? f.name : null, hooks: present });
  };

  g.__pcl_call = function (hook, input) {
    const logs = [];
    let logChars = 0;
    let dropped = 0;
    const ctx = parse(input);
    ctx.config = config;
    ctx.log = function (message, fields) {
      if (logs.length >= LOG_LINES || logChars >= LOG_TOTAL) {
        dropped++;
        return;
      }
      let m = StringCtor(message);
      if (m.length > LOG_MESSAGE) m = m.slice(0, LOG_MESSAGE) + '...';
      let f;
      let text;
      if (fields !== undefined) {
        try { text = stringify(fields); } catch (e) { text = undefined; }
        if (typeof text !== 'string') f = undefined;
        else if (text.length > LOG_FIELDS) f = { truncated: 'fields over ' + LOG_FIELDS + ' characters of JSON', length: text.length };
        else f = parse(text);
      }
      logChars += m.length + (f === undefined ? 0 : typeof text === 'string' && text.length <= LOG_FIELDS ? text.length : 80);
      logs.push({ message: m, fields: f });
    };
    const finish = function () {
      if (dropped > 0) logs.push({ message: dropped + ' more log lines dropped: at most ' + LOG_LINES + ' lines and ' + LOG_TOTAL + ' characters per call' });
      return logs;
    };
    // The empty answer is the common one (no decision, no log lines): nothing to stringify here or parse there.
    if (typeof filter[hook] !== 'function') return '';
    let out;
    try {
      const value = filter[hook](ctx);
      if (value && typeof value.then === 'function') {
        return stringify({ ok: false, error: hook + ' returned a Promise: filter hooks must be synchronous', logs: finish() });
      }
      if ((value === undefined || value === null) && logs.length === 0 && dropped === 0) return '';
      out = stringify({ ok: true, value: value === undefined ? null : value, logs: finish() });
    } catch (err) {
      return stringify({ ok: false, error: describe(err), logs: finish() });
    }
    if (typeof out !== 'string') return stringify({ ok: false, error: 'the decision is not JSON', logs });
    if (out.length > maxResult) return stringify({ ok: false, tooLarge: out.length, logs: [] });
    return out;
  };
})();
`;

/** Evaluated last, after the bundle: hands the filter and its config to the glue. */
export function initCall(configJson: string, maxResultBytes: number): string {
  return `__pcl_init(${JSON.stringify(configJson)}, ${maxResultBytes})`;
}
