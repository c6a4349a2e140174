import { setTimeout as sleep } from 'node:timers/promises';
import type { DelayPolicy } from '../../sdk-types/config.ts';
import { CelCompileError, compileCel, createCelEnvironment, type CelProgram } from '../../core/cel/index.ts';
import { parseDuration, s } from '../../core/config/index.ts';
import type { Issue, Schema } from '../../core/schema/index.ts';
import { ErrorCodes, GatewayError } from '../../core/errors.ts';
import type { PolicyDefinition } from '../../core/pipeline/index.ts';
import { CEL_VARIABLES, httpActivation } from '../authorization/index.ts';

/**
 * Fault injection: latency added before the request goes on to its backend (agentgateway's `delay`). `duration`
 * is a fixed time (`2s`, or milliseconds) or a CEL expression over the request that gives milliseconds or a CEL
 * duration (`random() < 0.1 ? 2000 : 0`, `request.headers["x-chaos"] == "1" ? 500 : 0`); a result that is not
 * positive, or an expression that fails to evaluate, adds nothing. `percentage` delays that share of requests only.
 * The wait runs inside the route's timeout (it counts against it, as real latency would) and ends when the client
 * goes away. It runs after authentication and authorization, so a refused request is refused at once.
 */

/** Longest delay one request may get: a fault, not a way to park connections. */
export const MAX_DELAY_MS = 300_000;

let env: ReturnType<typeof createCelEnvironment> | undefined;
const RESULT_TYPES = ['int', 'uint', 'double', 'google.protobuf.Duration'];

type Duration = { kind: 'fixed'; ms: number } | { kind: 'cel'; program: CelProgram };

function parse(value: unknown, path: string, issues: Issue[]): Duration | undefined {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0 || value > MAX_DELAY_MS) {
      issues.push({ path, message: `expected milliseconds from 0 to ${MAX_DELAY_MS}, got ${value}` });
      return undefined;
    }
    return { kind: 'fixed', ms: value };
  }
  if (typeof value !== 'string' || value.trim() === '') {
    issues.push({ path, message: `expected a duration ("2s", or milliseconds) or a CEL expression giving milliseconds, got ${JSON.stringify(value)}` });
    return undefined;
  }
  const ms = parseDuration(value);
  if (ms !== undefined) {
    if (ms > MAX_DELAY_MS) issues.push({ path, message: `at most ${MAX_DELAY_MS / 1000}s, got ${JSON.stringify(value)}` });
    return { kind: 'fixed', ms };
  }
  try {
    return { kind: 'cel', program: compileCel((env ??= createCelEnvironment(CEL_VARIABLES)), value, RESULT_TYPES) };
  } catch (err) {
    if (!(err instanceof CelCompileError)) throw err;
    issues.push({ path, message: `invalid CEL expression ${JSON.stringify(value)}: ${err.message} (a duration such as "2s", or an expression giving milliseconds such as 'random() < 0.1 ? 2000 : 0')` });
    return undefined;
  }
}

const durationSchema: Schema = {
  describe: 'duration or CEL expression',
  check(value, path, issues) {
    parse(value, path, issues);
  },
  jsonSchema: () => ({ type: 'string', minLength: 1, description: 'a duration such as "2s", or a CEL expression giving milliseconds' }),
};

/** Milliseconds from an expression's value: a number, or a CEL duration; anything else is no delay. */
function toMs(value: unknown): number {
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'number') return value;
  if (value !== null && typeof value === 'object' && typeof (value as { seconds?: unknown }).seconds === 'bigint') {
    const d = value as { seconds: bigint; nanos: number };
    return Number(d.seconds) * 1000 + d.nanos / 1e6;
  }
  return 0;
}

export const delay: PolicyDefinition<DelayPolicy> = {
  name: 'delay',
  phase: 'requestRewrite',
  schema: s.object({ duration: durationSchema, percentage: s.number({ min: 0, max: 100 }) }, { required: ['duration'] }),
  create(config, build) {
    const issues: Issue[] = [];
    const duration = parse(config.duration, `${build.path}.duration`, issues);
    if (!duration) throw new GatewayError(ErrorCodes.CONFIG_INVALID, s.formatIssues(issues));
    const share = (config.percentage ?? 100) / 100;
    return {
      async step(ctx, next) {
        if (share < 1 && Math.random() >= share) return next();
        let ms: number;
        if (duration.kind === 'fixed') ms = duration.ms;
        else {
          try {
            ms = toMs(duration.program.evaluate(httpActivation(ctx)));
          } catch (err) {
            ctx.log.debug({ err: (err as Error).message, policy: 'delay' }, 'delay expression failed: no delay');
            ms = 0;
          }
        }
        if (ms > 0) {
          try {
            await sleep(Math.min(ms, MAX_DELAY_MS), undefined, { signal: ctx.signal });
          } catch {
            // The client went away (or the timeout fired): whoever aborted answers.
            return;
          }
        }
        return next();
      },
    };
  },
};
