import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sseEvents } from '../../core/admin/dataplane.ts';
import { SseStream } from '../../core/backends/mcp/serve/sse-stream.ts';
import { readSseEvents } from '../../core/protocol/sse.ts';

describe('SSE readers and writers on the one codec', () => {
  it("the admin data plane's sseEvents reads every line ending and multi-byte text, and says why it stops", () => {
    const body = new TextEncoder().encode('data: {"a":"é中😀"}\r\n\r\n: keep-alive\r\rdata: text\rdata: more\r\rdata:\n\n');
    assert.deepEqual(sseEvents(body), [{ a: 'é中😀' }, 'text\nmore']);
    const broken = new Uint8Array([...new TextEncoder().encode('data: 1\n\ndata: '), 0xff, 0x0a, 0x0a]);
    assert.deepEqual(sseEvents(broken), [1, { error: { code: 'SSE_INVALID_UTF8', message: 'the SSE stream is not valid UTF-8' } }]);
  });

  it('the MCP SSE writer cannot be made to write a second event or field by the data it sends', async () => {
    const stream = new SseStream(new AbortController().signal);
    stream.event('message', 'line one\nevent: forged\r\ndata: x');
    stream.send({ jsonrpc: '2.0', method: 'notifications/message', params: { data: 'a\nb' } });
    stream.end();
    const events = [];
    for await (const e of readSseEvents(stream.body)) events.push(e);
    assert.deepEqual(events, [
      { event: 'message', data: 'line one\nevent: forged\ndata: x' },
      { event: 'message', data: '{"jsonrpc":"2.0","method":"notifications/message","params":{"data":"a\\nb"}}' },
    ]);
  });
});
