import { stateKey } from '../state/index.ts';
import { policyChannel } from '../telemetry/index.ts';
import type { RequestContext } from './types.ts';

/** The input document (JSON text) a deciding policy evaluated for the decision being taken in this request. */
const DECISION_INPUT = stateKey<string | undefined>('policy.decisionInput');

/**
 * A policy that evaluates an input document (authorization) records it here as it decides; the decision event then
 * carries it, so that the admin UI's policy playground evaluates exactly what the policy saw. Nothing is kept while
 * nobody subscribes to decisions; the JSON text is kept as built (no copy, no parse on the request path).
 */
export function recordDecisionInput(ctx: RequestContext, json: string): void {
  if (policyChannel.hasSubscribers) ctx.vars.set(DECISION_INPUT, json);
}

/** The recorded input of the decision being published, taken once (a later decision records its own). */
export function takeDecisionInput(ctx: RequestContext): string | undefined {
  const json = ctx.vars.get(DECISION_INPUT);
  if (json !== undefined) ctx.vars.set(DECISION_INPUT, undefined);
  return json;
}
