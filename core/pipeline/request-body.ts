import { readWhole } from '../protocol/read-body.ts';
import type { RequestContext } from './types.ts';

/** The request's whole body: the context's own push read when it has one, else its body stream read whole. */
export function readRequestBody(ctx: RequestContext): Promise<Buffer> {
  return ctx.readBody ? ctx.readBody() : readWhole(ctx.body);
}
