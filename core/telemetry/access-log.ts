import { requestChannel, type RequestEvent } from './events.ts';
import type { Logger } from './logger.ts';

/**
 * The access log: a subscriber to the request events that writes one line per request when its response is done
 * (or its client left). `gateway` limits it to the requests of one gateway (`RequestEvent.gateway`), since several
 * gateways may share a process. Returns the unsubscribe function.
 */
export function subscribeAccessLog(logger: Logger, gateway?: string): () => void {
  const onEnd = (message: unknown) => {
    const e = message as RequestEvent;
    if (e.gateway !== gateway) return;
    logger.info(
      {
        type: 'access',
        listener: e.listener,
        route: e.route,
        backend: e.backend,
        method: e.method,
        path: e.path,
        status: e.status ?? 0,
        durationMs: Math.round((e.durationMs ?? 0) * 100) / 100,
        bytesIn: e.bytesIn ?? 0,
        bytesOut: e.bytesOut ?? 0,
        client: e.clientAddress,
        errorCode: e.errorCode,
      },
      'request',
    );
  };
  requestChannel.end.subscribe(onEnd);
  return () => {
    requestChannel.end.unsubscribe(onEnd);
  };
}
