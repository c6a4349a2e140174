import type { HeaderList, HeaderModifier } from '../../sdk-types/config.ts';
import { headerNameSchema, s } from '../../core/config/index.ts';
import type { HeaderMap, PolicyDefinition } from '../../core/pipeline/index.ts';

const headerList = s.oneOf('object of string | array of { name, value }', [
  { when: Array.isArray, schema: s.array(s.object({ name: headerNameSchema, value: s.string() }, { required: ['name', 'value'] })) },
  { when: s.isPlainObject, schema: s.record(s.string()) },
]);

const schema = s.object({ add: headerList, set: headerList, remove: s.array(headerNameSchema) });

function pairs(list: HeaderList | undefined): Array<[string, string]> {
  if (!list) return [];
  if (Array.isArray(list)) return list.map((h) => [h.name.toLowerCase(), h.value]);
  return Object.entries(list).map(([k, v]) => [k.toLowerCase(), v]);
}

/** Compiled once: `set` replaces, `add` appends a value, `remove` deletes. */
function compile(config: HeaderModifier): (headers: HeaderMap) => void {
  const set = pairs(config.set);
  const add = pairs(config.add);
  const remove = (config.remove ?? []).map((n) => n.toLowerCase());
  return (headers) => {
    for (const name of remove) delete headers[name];
    for (const [name, value] of set) headers[name] = value;
    for (const [name, value] of add) {
      const prior = headers[name];
      headers[name] = prior === undefined ? value : Array.isArray(prior) ? [...prior, value] : [prior, value];
    }
  };
}

/** Edits the headers sent to the backend. */
export const requestHeaderModifier: PolicyDefinition<HeaderModifier> = {
  name: 'requestHeaderModifier',
  phase: 'requestRewrite',
  requires: ['http-forward'],
  schema,
  create(config) {
    const apply = compile(config);
    return {
      step(ctx, next) {
        apply(ctx.requestHeaders);
        return next();
      },
    };
  },
};

/** Edits the headers sent back to the client, on backend and direct responses alike. */
export const responseHeaderModifier: PolicyDefinition<HeaderModifier> = {
  name: 'responseHeaderModifier',
  phase: 'responseRewrite',
  schema,
  create(config) {
    const apply = compile(config);
    return {
      async step(ctx, next) {
        await next();
        if (ctx.response) apply(ctx.response.headers);
      },
    };
  },
};
