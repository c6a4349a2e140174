import type { Environment } from '@marcbachmann/cel-js';
import type { AccessLogConfig } from '../../sdk-types/config.ts';
import type { Identity } from '../../sdk-types/identity.ts';
import { compileCel, compileCelSetting, createCelEnvironment, matches, toCelValue, type CelProgram, compileCelValue, fromCelValue } from '../cel/index.ts';
import { array, object, record, string, type Schema } from '../schema/index.ts';
import type { MessageEvent, RequestEvent } from './events.ts';
import { protocolTelemetry } from './protocols.ts';

/**
 * The shape of the access log's lines (`logging.accessLog: { filter, add, remove }`, agentgateway's
 * `frontendPolicies.accessLog`): a CEL filter that keeps a line, CEL fields added to it, fields removed from it.
 * Expressions are compiled when the config is validated (a typo is a config error with its path) and again, once,
 * when the access log subscribes; the variables are agentgateway's names, built from the request's events only
 * when a line is written.
 */

/**
 * The variables an access-log expression may name (agentgateway's). They are declared before any protocol registers
 * (a config is validated without a gateway), so a protocol's descriptor fills one of these (`mcp`), never a new one.
 */
export const ACCESS_LOG_VARIABLES = ['request', 'response', 'source', 'jwt', 'apiKey', 'backend', 'mcp', 'extauthz'] as const;

/** agentgateway's names of the fields every line has, and ours. */
const FIELD_ALIASES: Readonly<Record<string, string>> = {
  'http.method': 'method',
  'http.path': 'path',
  'http.status': 'status',
  'src.addr': 'client',
  duration: 'durationMs',
  'trace.id': 'trace_id',
  'span.id': 'span_id',
  'jwt.sub': 'enduser.id',
  'mcp.method': 'mcp.method.name',
};

/** The resolved shape: expressions as written (the config stays plain data), removals in our field names. */
export interface ResolvedAccessLogShape {
  readonly filter?: string;
  readonly add: Readonly<Record<string, string>>;
  readonly remove: readonly string[];
}

let env: Environment | undefined;
const celEnv = () => (env ??= createCelEnvironment(ACCESS_LOG_VARIABLES));

function celSchema(kind: 'bool' | 'value'): Schema {
  return {
    describe: 'a CEL expression',
    check: (value, path, issues) => void compileCelSetting(celEnv(), value, path, issues, kind === 'bool' ? ['bool'] : 'any'),
    jsonSchema: () => ({ type: 'string', pattern: '\\S', description: 'a CEL expression' }),
  };
}

export const accessLogShapeSchema: Schema = object({
  filter: celSchema('bool'),
  add: record(celSchema('value')),
  remove: array(string({ nonEmpty: true })),
});

export function resolveAccessLogShape(config: AccessLogConfig): ResolvedAccessLogShape {
  return {
    ...(config.filter !== undefined ? { filter: config.filter } : {}),
    add: { ...config.add },
    remove: [...new Set((config.remove ?? []).map((name) => FIELD_ALIASES[name] ?? name))],
  };
}

export interface CompiledAccessLogShape {
  /** Applies the shape to a line about to be written; false when the filter drops it. */
  apply(line: Record<string, unknown>, e: RequestEvent, m: MessageEvent | undefined): boolean;
}

/** Compiles a resolved shape (already validated) for the subscriber. */
export function compileAccessLogShape(shape: ResolvedAccessLogShape): CompiledAccessLogShape {
  const filter: CelProgram | undefined = shape.filter !== undefined ? compileCel(celEnv(), shape.filter) : undefined;
  const add = Object.entries(shape.add).map(([name, source]) => [name, compileCelValue(celEnv(), source)] as const);
  const remove = shape.remove;
  const needsVars = filter !== undefined || add.length > 0;
  return {
    apply(line, e, m) {
      const vars = needsVars ? activation(e, m) : undefined;
      if (filter && !matches(filter, vars!)) return false;
      for (const [name, program] of add) {
        try {
          const value = fromCelValue(program.evaluate(vars!));
          if (value !== undefined) line[name] = value;
        } catch {
          // An expression that names what this request does not have (no JWT, no MCP message): no field.
        }
      }
      for (const name of remove) delete line[name];
      return true;
    },
  };
}

/** agentgateway's CEL variables for one finished request. */
function activation(e: RequestEvent, m: MessageEvent | undefined): Record<string, unknown> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(e.headers ?? {})) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  const vars: Record<string, unknown> = {
    request: { method: e.method, path: e.path, host: e.host.replace(/:\d+$/, ''), scheme: e.scheme, headers },
    response: { code: BigInt(e.status ?? 0) },
    source: { address: e.clientAddress },
  };
  if (e.backend !== undefined) vars.backend = { name: e.backend };
  if (e.identity) Object.assign(vars, identityVars(e.identity));
  if (e.logVariables) for (const [name, value] of Object.entries(e.logVariables)) vars[name] = toCelValue(value);
  const fromProtocol = m && protocolTelemetry(m.protocol)?.accessLogVariables?.(m);
  if (fromProtocol) Object.assign(vars, fromProtocol);
  return vars;
}

function identityVars(identity: Identity): Record<string, unknown> {
  if (identity.kind === 'jwt') return { jwt: toCelValue(identity.claims) };
  if (identity.kind === 'apiKey') return { apiKey: toCelValue({ ...identity.claims, key: identity.subject }) };
  return {};
}

