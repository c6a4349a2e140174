import { compileCelSetting, createCelEnvironment, type CelProgram } from '../../core/cel/index.ts';
import { hostPortSchema, s } from '../../core/config/index.ts';
import type { Issue, Schema } from '../../core/schema/index.ts';
import { CEL_VARIABLES } from '../authorization/index.ts';

/** The result types a descriptor value may have: each is sent as its string form. */
export const VALUE_TYPES = ['string', 'int', 'uint', 'double', 'bool'];

let env: ReturnType<typeof createCelEnvironment> | undefined;
const celEnv = () => (env ??= createCelEnvironment(CEL_VARIABLES));

/** Compiles one descriptor value, or records why it cannot be compiled at `path`. */
export function compileValue(expr: unknown, path: string, issues: Issue[]): CelProgram | undefined {
  return compileCelSetting(celEnv(), expr, path, issues, VALUE_TYPES);
}

const celValue: Schema = { describe: 'CEL expression', check: (v, p, issues) => void compileValue(v, p, issues), jsonSchema: () => ({ type: 'string', description: 'a CEL expression over the request' }) };

const entry = s.object({ key: s.string({ nonEmpty: true }), value: celValue }, { required: ['key', 'value'] });

const descriptor = s.object(
  {
    entries: s.array(entry, { minItems: 1 }),
    // agentgateway's `tokens` descriptors count LLM tokens on the response; Portcullis does not carry LLM traffic.
    type: s.literal('requests'),
  },
  { required: ['entries'] },
);

export const remoteRateLimitSchema = s.object(
  {
    domain: s.string({ nonEmpty: true }),
    host: hostPortSchema,
    descriptors: s.array(descriptor, { minItems: 1 }),
    failureMode: s.literal('failOpen', 'failClosed'),
    timeoutMs: s.number({ integer: true, min: 1, max: 30_000 }),
  },
  { required: ['domain', 'host', 'descriptors'] },
);
