import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AdminObserver, type ObservedItem, type TrafficLine } from '../../core/admin/observer.ts';
import { messageChannel, policyChannel, requestChannel, type MessageEvent, type RequestEvent } from '../../core/telemetry/events.ts';

const GW = 'traffic-ring-test';

function request(id: string, over: Partial<RequestEvent> = {}): RequestEvent {
  return { id, method: 'GET', path: `/p/${id}`, host: 'h', clientAddress: '127.0.0.1', scheme: 'http', bind: 'b', startedAt: 0, gateway: GW, listener: 'l', route: 'r', backend: 'b0', ...over };
}

function end(e: RequestEvent, status = 200): void {
  e.status = status;
  e.durationMs = 1.23456;
  e.bytesIn = 3;
  e.bytesOut = 64;
  requestChannel.end.publish(e);
}

/** The line the observer made for a plain request before it kept lines as columns: every key, in this order. */
function expected(e: RequestEvent, time: string): TrafficLine {
  return {
    id: e.id,
    time,
    method: e.method,
    path: e.path,
    host: e.host,
    listener: e.listener,
    route: e.route,
    backend: e.backend,
    status: e.status ?? 0,
    durationMs: 1.23,
    bytesIn: 3,
    bytesOut: 64,
    client: e.clientAddress,
    errorCode: e.errorCode,
    identity: e.subject,
    traceId: undefined,
    messages: [],
    decisions: [],
  };
}

// The observer keeps its last 1,000 requests as columns and builds their lines when read: what the admin API, the
// live view and the supervisor see must not tell the difference.
describe('the traffic the admin observer keeps', () => {
  it('keeps the newest 1,000 lines across the wrap, oldest first, each built as it was recorded', () => {
    const forwarded: ObservedItem[] = [];
    const observer = new AdminObserver(GW, { forward: (item) => forwarded.push(item) });
    try {
      const events: RequestEvent[] = [];
      const before = Date.now();
      for (let i = 0; i < 1205; i++) {
        // Every 7th carries a decision (kept as its object), the others are plain (kept as columns); every 3rd has
        // no route, an error code and an identity.
        const e = request(`w-${i}`, i % 3 === 0 ? { errorCode: 'x', subject: `u${i}`, route: undefined, backend: undefined } : {});
        requestChannel.start.publish(e);
        if (i % 7 === 0) policyChannel.publish({ requestId: e.id, route: 'r', policy: 'authorization', level: 'http', outcome: 'allow' });
        end(e, 200 + (i % 400));
        events.push(e);
      }
      const after = Date.now();
      const lines = observer.traffic.all();
      assert.equal(lines.length, 1000);
      assert.deepEqual(lines.map((l) => l.id), events.slice(205).map((e) => e.id));
      for (const [k, line] of lines.entries()) {
        const e = events[205 + k];
        const at = Date.parse(line.time);
        assert.ok(at >= before && at <= after, line.time);
        assert.equal(new Date(at).toISOString(), line.time);
        const want = expected(e, line.time);
        if ((205 + k) % 7 === 0) want.decisions = [{ time: line.decisions[0].time, requestId: e.id, route: 'r', policy: 'authorization', level: 'http', outcome: 'allow' }];
        assert.deepStrictEqual(line, want);
        assert.equal(JSON.stringify(line), JSON.stringify(want));
      }
      // Dropped by the wrap: gone, with their decisions.
      assert.equal(observer.line('w-204'), undefined);
      assert.deepEqual(observer.decisionsOf('w-203'), []);
      // A line is built once: every reader gets the same object.
      assert.equal(observer.line('w-1204'), observer.line('w-1204'));
      assert.equal(observer.line('w-600'), lines[395]);
      // What a worker forwards is the line as it was when the request ended, with arrays of its own.
      const access = forwarded.filter((i): i is Extract<ObservedItem, { t: 'access' }> => i.t === 'access');
      assert.equal(access.length, 1205);
      assert.equal(JSON.stringify(access[1204].line), JSON.stringify(observer.line('w-1204')));
      assert.notEqual(access[1204].line.messages, observer.line('w-1204')!.messages);
      assert.equal(observer.metrics.snapshot().totals.requests, 1205);
    } finally {
      observer.close();
    }
  });

  it('shows a request still running only by its decisions, then its line, with what ends after it', () => {
    const observer = new AdminObserver(GW);
    try {
      const e = request('p-1');
      requestChannel.start.publish(e);
      policyChannel.publish({ requestId: e.id, route: 'r', policy: 'authentication', level: 'http', outcome: 'allow' });
      assert.equal(observer.line(e.id), undefined, 'no line while it runs');
      assert.equal(observer.decisionsOf(e.id).length, 1);
      end(e);
      assert.equal(observer.line(e.id)!.decisions.length, 1);

      // A plain request (columns), read before and after a decision and a message that end after it.
      const plain = request('p-2');
      requestChannel.start.publish(plain);
      end(plain);
      const read = observer.line(plain.id)!;
      assert.deepEqual(read.decisions, []);
      policyChannel.publish({ requestId: plain.id, route: 'r', policy: 'authorization', level: 'message', outcome: 'deny' });
      const m: MessageEvent = { requestId: plain.id, protocol: 'mcp', route: 'r', method: 'tools/call', tool: 't', outcome: 'ok' } as MessageEvent;
      messageChannel.start.publish(m);
      messageChannel.asyncEnd.publish(m);
      assert.equal(observer.line(plain.id), read);
      assert.equal(read.decisions.length, 1);
      assert.equal(read.messages[0].tool, 't');
      assert.deepEqual(observer.messagesOf(plain.id), read.messages);

      // Read for the first time only after a late decision: it is there too.
      const unread = request('p-3');
      requestChannel.start.publish(unread);
      end(unread);
      policyChannel.publish({ requestId: unread.id, route: 'r', policy: 'authorization', level: 'message', outcome: 'deny' });
      assert.equal(observer.line(unread.id)!.decisions[0].outcome, 'deny');
      assert.equal(observer.traffic.all().at(-1), observer.line(unread.id));

      // Another gateway's request is not kept, and its decisions are not taken.
      const other = request('p-4', { gateway: 'another' });
      requestChannel.start.publish(other);
      end(other);
      policyChannel.publish({ requestId: other.id, route: 'r', policy: 'authorization', level: 'http', outcome: 'deny' });
      assert.equal(observer.line(other.id), undefined);
      assert.equal(observer.decisions.all().some((d) => d.requestId === other.id), false);
    } finally {
      observer.close();
    }
  });

  it('finds a line by its id among ids that end alike', () => {
    const observer = new AdminObserver(GW);
    try {
      // Same length and last characters: the search compares the strings where the cheap check cannot tell.
      for (const id of ['a-end', 'b-end', 'c-end']) {
        const e = request(id);
        requestChannel.start.publish(e);
        end(e, id === 'b-end' ? 404 : 200);
      }
      assert.equal(observer.line('b-end')!.status, 404);
      assert.equal(observer.line('a-end')!.id, 'a-end');
      assert.equal(observer.line('d-end'), undefined);
      assert.equal(observer.line(''), undefined);
    } finally {
      observer.close();
    }
  });

  it('streams each line to the live view as the API then reads it', () => {
    const observer = new AdminObserver(GW);
    const seen: unknown[] = [];
    const unlisten = observer.listen((topic, data) => topic === 'access' && seen.push(data));
    try {
      const e = request('s-1');
      requestChannel.start.publish(e);
      end(e, 503);
      assert.equal(seen.length, 1);
      assert.deepStrictEqual(seen[0], observer.line(e.id));
      assert.equal(JSON.stringify(seen[0]), JSON.stringify(observer.line(e.id)));
      assert.equal((seen[0] as TrafficLine).status, 503);
    } finally {
      unlisten();
      observer.close();
    }
  });
});
