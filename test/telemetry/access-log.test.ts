import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { subscribeAccessLog } from '../../core/telemetry/access-log.ts';
import { requestChannel } from '../../core/telemetry/events.ts';
import { createLogger } from '../../core/telemetry/logger.ts';

// The access line is written without pino's generic serializer (for its cost); it must read exactly as the logger
// writes a line, bindings included, with the one redaction applied to its values.
describe('access log line', () => {
  it('reads as the logger writes a line, and redacts secrets in its values', () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', destination: { write: (l: string) => void lines.push(l) } }).child({ worker: 1 });
    const off = subscribeAccessLog(logger, 'access-test');
    try {
      const event = { id: 'req-1', gateway: 'access-test', listener: 'l', route: 'r', backend: 'b', method: 'GET', path: '/x?token=s3cr3tvalue&y=1', status: 200, durationMs: 1.234, bytesIn: 0, bytesOut: 64, clientAddress: '127.0.0.1', subject: 'alice' };
      requestChannel.end.publish(event as never);
      // The same fields through pino's own path.
      logger.info({ type: 'access', listener: 'l', route: 'r', backend: 'b', method: 'GET', path: '/x?token=s3cr3tvalue&y=1', status: 200, durationMs: 1.23, bytesIn: 0, bytesOut: 64, client: '127.0.0.1', request_id: 'req-1', 'enduser.id': 'alice' }, 'request');
      assert.equal(lines.length, 2);
      const [direct, viaPino] = lines.map((l) => l.replace(/"time":"[^"]+"/, '"time":"T"'));
      assert.equal(direct, viaPino);
      assert.match(direct, /^\{"level":"info","time":"T","pid":\d+,"worker":1,"type":"access",.*"path":"\/x\?token=\[redacted\]&y=1".*,"msg":"request"\}\n$/);
      // A level raised at run time writes nothing.
      logger.level = 'warn';
      requestChannel.end.publish(event as never);
      assert.equal(lines.length, 2);
    } finally {
      off();
    }
  });
});
