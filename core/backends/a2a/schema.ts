import { array, boolean, literal, number, object, string } from '../../schema/index.ts';

const httpUrl = string({ pattern: /^https?:\/\/[^/?#]+/, patternHint: 'an http(s) URL' });

const agent = object(
  { name: string({ pattern: /^[A-Za-z0-9_-]+$/, patternHint: 'letters, digits, "_" or "-"' }), url: httpUrl },
  { required: ['name', 'url'] },
);

/** The schema of an `a2a` backend entry. */
export const a2aBackendSchema = object(
  {
    url: httpUrl,
    agents: array(agent, { minItems: 1 }),
    cardTtlMs: number({ integer: true, min: 0 }),
    pushNotifications: object({ allowedUrls: array(httpUrl), allowPrivateAddresses: boolean() }, { required: ['allowedUrls'] }),
    cardVisibility: literal('public', 'authenticated'),
  },
  {
    exactlyOne: ['url', 'agents'],
    refine(v, p, issues) {
      const seen = new Set<string>();
      ((v.agents as Array<{ name: string }> | undefined) ?? []).forEach((a, i) => {
        if (seen.has(a.name)) issues.push({ path: `${p}.agents[${i}].name`, message: `duplicate agent name "${a.name}"` });
        seen.add(a.name);
      });
    },
  },
);
