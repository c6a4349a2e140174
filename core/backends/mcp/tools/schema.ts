import { array, boolean, isPlainObject, literal, number, object, record, string, type Schema } from '../../../schema/index.ts';
import { matchesEverything } from './glob.ts';
import { SEARCH_TOOL, CALL_TOOL } from './search.ts';

/** Any JSON value (a fixed or default argument). */
const json: Schema = { describe: 'JSON value', check() {}, jsonSchema: () => ({}) };

/** Tool names as MCP allows them (1–128 of letters, digits, `_`, `-`, `.`, `/`). */
const toolName = string({ pattern: /^[A-Za-z0-9_./-]{1,128}$/, patternHint: '1 to 128 letters, digits, "_", "-", "." or "/"' });
const pattern = string({ nonEmpty: true });

const override = object(
  { name: toolName, description: string(), annotations: record(json), fixedArguments: record(json), defaultArguments: record(json) },
  {
    refine(v, p, issues) {
      const fixed = Object.keys((v.fixedArguments ?? {}) as object);
      for (const arg of Object.keys((v.defaultArguments ?? {}) as object)) {
        if (fixed.includes(arg)) issues.push({ path: `${p}.defaultArguments.${arg}`, message: `"${arg}" is both fixed and defaulted: keep it in fixedArguments (the gateway sets it) or in defaultArguments (the client may set it)` });
      }
    },
  },
);

/** A target's `tools` block. */
export const targetToolsSchema = object(
  { include: array(pattern), exclude: array(pattern), overrides: record(override) },
  {
    refineAlways: true,
    refine(v, p, issues) {
      if (Array.isArray(v.include) && v.include.length === 0) issues.push({ path: `${p}.include`, message: 'includes no tool: remove include to show every tool, or name the tools to show' });
      (v.exclude as string[] | undefined)?.forEach((x, i) => {
        if (matchesEverything(x)) issues.push({ path: `${p}.exclude[${i}]`, message: `"${x}" excludes every tool of the target: remove the target instead, or name the tools to hide` });
      });
      const shownAs = new Map<string, string>();
      for (const [name, o] of Object.entries((v.overrides ?? {}) as Record<string, { name?: string }>)) {
        const exposed = o.name ?? name;
        const before = shownAs.get(exposed);
        if (before !== undefined) issues.push({ path: `${p}.overrides.${name}.name`, message: `tools "${before}" and "${name}" are both renamed to "${exposed}": give them different names` });
        else shownAs.set(exposed, name);
        if (o.name !== undefined && o.name !== name && Object.hasOwn((v.overrides ?? {}) as object, o.name) && ((v.overrides as Record<string, { name?: string }>)[o.name].name ?? o.name) === o.name) {
          issues.push({ path: `${p}.overrides.${name}.name`, message: `"${name}" is renamed to "${o.name}", which another tool of the target keeps as its name: choose another name` });
        }
      }
    },
  },
);

const scalar: Schema = {
  describe: 'string, number or boolean',
  check(value, p, issues) {
    if (!['string', 'number', 'boolean'].includes(typeof value)) issues.push({ path: p, message: `expected a string, number or boolean, got ${Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value}` });
  },
  jsonSchema: () => ({ type: ['string', 'number', 'boolean'] }),
};
const claimValue: Schema = {
  describe: 'string, number, boolean or array of them',
  check(value, p, issues) {
    if (Array.isArray(value)) {
      if (value.length === 0) issues.push({ path: p, message: 'expected at least one value' });
      value.forEach((x, i) => scalar.check(x, `${p}[${i}]`, issues));
    } else scalar.check(value, p, issues);
  },
  jsonSchema: (ctx) => ({ anyOf: [ctx.of(scalar, ''), { type: 'array', items: ctx.of(scalar, '[]'), minItems: 1 }] }),
};

const grant = object(
  { subjects: array(string({ nonEmpty: true }), { minItems: 1 }), roles: array(string({ nonEmpty: true }), { minItems: 1 }), claims: record(claimValue), everyone: boolean() },
  {
    refine(v, p, issues) {
      const keys = ['subjects', 'roles', 'claims'].filter((k) => v[k] !== undefined && !(isPlainObject(v[k]) && Object.keys(v[k] as object).length === 0));
      if (v.everyone === true && keys.length > 0) issues.push({ path: `${p}.everyone`, message: `everyone: true grants the toolset to every caller: remove ${keys.join(', ')}, or remove everyone` });
      if (v.everyone !== true && keys.length === 0) issues.push({ path: p, message: 'grants the toolset to no one: set subjects, roles, claims, or everyone: true' });
    },
  },
);

/** A backend's `toolsets`. */
export const toolsetsSchema = record(object({ tools: array(pattern, { minItems: 1 }), grant }, { required: ['tools', 'grant'] }));

/** A backend's `toolSearch`. */
export const toolSearchSchema = object({ list: literal('all', 'pinned'), pinned: array(pattern), maxResults: number({ integer: true, min: 1, max: 50 }) });

/** Backend-level rules across targets: a target tool renamed to a gateway tool's name. */
export function refineToolNames(v: Record<string, unknown>, p: string, issues: Array<{ path: string; message: string }>): void {
  if (v.toolSearch === undefined) return;
  (v.targets as Array<{ tools?: { overrides?: Record<string, { name?: string }> } }>).forEach((t, i) => {
    for (const [name, o] of Object.entries(t?.tools?.overrides ?? {})) {
      if (o?.name === SEARCH_TOOL || o?.name === CALL_TOOL) issues.push({ path: `${p}.targets[${i}].tools.overrides.${name}.name`, message: `"${o.name}" is the gateway's own tool on a route with toolSearch: choose another name` });
    }
  });
}
