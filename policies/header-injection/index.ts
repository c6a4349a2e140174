import type { HeaderInjectionPolicy } from '../../sdk-types/filter-policies.ts';
import { headerNameSchema, s } from '../../core/config/index.ts';
import type { HeaderMap, PolicyDefinition, RequestContext } from '../../core/pipeline/index.ts';

type Part = string | ((ctx: RequestContext) => string | undefined);

const PLACEHOLDER = /\{([A-Za-z0-9_.-]+)\}/g;

function scalar(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v)) return v.map((x) => (typeof x === 'object' ? JSON.stringify(x) : String(x))).join(',');
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

function resolver(name: string): ((ctx: RequestContext) => string | undefined) | undefined {
  if (name === 'route') return (ctx) => ctx.routeName;
  if (name === 'requestId') return (ctx) => ctx.id;
  if (name === 'identity.subject') return (ctx) => ctx.identity?.subject;
  if (name === 'identity.kind') return (ctx) => ctx.identity?.kind;
  if (name === 'identity.roles') return (ctx) => scalar(ctx.identity?.roles);
  if (name.startsWith('identity.claims.')) {
    const claim = name.slice('identity.claims.'.length);
    return (ctx) => scalar(ctx.identity?.claims[claim]);
  }
  return undefined;
}

/** Splits a template into literal text and lookups, once, when the policy is built. */
function compile(template: string): Part[] {
  const parts: Part[] = [];
  let last = 0;
  for (const m of template.matchAll(PLACEHOLDER)) {
    const lookup = resolver(m[1]);
    if (!lookup) throw new Error(`unknown placeholder {${m[1]}} (use {identity.subject}, {identity.kind}, {identity.roles}, {identity.claims.<name>}, {route} or {requestId})`);
    parts.push(template.slice(last, m.index), lookup);
    last = m.index + m[0].length;
  }
  parts.push(template.slice(last));
  return parts;
}

/** A header value, or undefined when a placeholder has no value (then the header is removed, never forged). */
function render(parts: readonly Part[], ctx: RequestContext): string | undefined {
  let out = '';
  for (const p of parts) {
    const v = typeof p === 'string' ? p : p(ctx);
    if (v === undefined) return undefined;
    out += v;
  }
  return /[\r\n\0]/.test(out) ? undefined : out;
}

function applier(headers: Record<string, string> | undefined): (ctx: RequestContext, target: HeaderMap) => void {
  const compiled = Object.entries(headers ?? {}).map(([name, template]) => [name.toLowerCase(), compile(template)] as const);
  return (ctx, target) => {
    for (const [name, parts] of compiled) {
      const value = render(parts, ctx);
      if (value === undefined) delete target[name];
      else target[name] = value;
    }
  };
}

/**
 * Sets headers on the upstream request and on the response from literal values or the caller's identity
 * (`{identity.subject}`, `{identity.claims.tenant}`, ...). It runs after authentication, so the identity is
 * known; a header the client sent under the same name is always replaced or removed.
 */
export const headerInjection: PolicyDefinition<HeaderInjectionPolicy> = {
  name: 'headerInjection',
  phase: 'requestFilter',
  schema: s.object({ request: s.record(s.string()), response: s.record(s.string()) }, {
    refine(value, path, issues) {
      for (const side of ['request', 'response'] as const) {
        for (const [name, template] of Object.entries((value[side] as Record<string, string> | undefined) ?? {})) {
          const before = issues.length;
          headerNameSchema.check(name, `${path}.${side}.${name}`, issues);
          if (issues.length > before) continue;
          try {
            compile(template);
          } catch (err) {
            issues.push({ path: `${path}.${side}.${name}`, message: (err as Error).message });
          }
        }
      }
    },
  }),
  create(config) {
    const onRequest = applier(config.request);
    const onResponse = applier(config.response);
    const hasResponse = Object.keys(config.response ?? {}).length > 0;
    return {
      async step(ctx, next) {
        onRequest(ctx, ctx.requestHeaders);
        await next();
        if (hasResponse && ctx.response) onResponse(ctx, ctx.response.headers);
      },
    };
  },
};
