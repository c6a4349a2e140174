import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startExample } from '../helpers/examples.ts';
import { connectClient } from '../helpers/mcp.ts';
import { startLibrary } from '../../examples/openapi/service.ts';
import { runAgent } from '../../examples/openapi/agent.ts';

type Started = Awaited<ReturnType<typeof startExample>>;

describe('examples/openapi: a REST API described by OpenAPI, served as MCP tools', () => {
  let library: Awaited<ReturnType<typeof startLibrary>>;
  const started: Started[] = [];
  before(async () => {
    library = await startLibrary(0);
    process.env.LIBRARY_PORT = String(library.port);
  });
  after(async () => {
    delete process.env.LIBRARY_PORT;
    for (const s of started) await s.running.close();
    await library?.close();
  });

  it('the agent lists the tools and calls them through the gateway, which adds the API key and applies the policies', async () => {
    const ex = await startExample('openapi');
    started.push(ex);
    const lines = await runAgent(`${ex.url()}/mcp`, () => {});
    assert.deepEqual(lines, [
      'tools: library_listBooks, library_addBook, library_getBook',
      'library_listBooks {"genre":"fiction"} -> {"result":[{"isbn":"978-0-14-143951-8","title":"Pride and Prejudice","author":"Jane Austen","genre":"fiction","published":"1813-01-28"}]}',
      'library_getBook {"isbn":"978-0-13-468599-1"} -> {"isbn":"978-0-13-468599-1","title":"The Pragmatic Programmer","author":"Hunt, Thomas","genre":"science","published":"2019-09-13"}',
      'library_addBook {"body":{"isbn":"978-1-59327-584-6","title":"The Linux Command Line","author":"William Shotts","genre":"science"}} -> {"isbn":"978-1-59327-584-6","title":"The Linux Command Line","author":"William Shotts","genre":"science"}',
      'library_addBook {"body":{"isbn":"978-1-59327-584-6","title":"The Linux Command Line","author":"William Shotts"}} -> error: HTTP 409: {"error":"a book with ISBN 978-1-59327-584-6 exists"}',
      'library_getBook {"isbn":"not-an-isbn"} -> error: invalid arguments: isbn: must match pattern "^[0-9-]{10,17}$"',
      'library_addBook {"body":{"isbn":"978-0-00-000000-0","title":"Untitled","author":"Anonymous"}} -> refused: MCP error -32082: PCL_ERR_FILTER_DENIED: tool "library_addBook": an argument matches deny pattern "^Anonymous$" (rule "library_addBook")',
    ]);
  });

  it("examples/openapi/config.yaml (agentgateway's format and shape) serves the same operations", async () => {
    const ex = await startExample('openapi', { file: 'config.yaml' });
    started.push(ex);
    const client = await connectClient(`${ex.url()}/mcp`);
    try {
      // deleteBook is in the spec, but the CEL rule leaves it out of the list and refuses a call to it.
      assert.deepEqual((await client.listTools()).tools.map((t) => t.name), ['listBooks', 'addBook', 'getBook']);
      await assert.rejects(client.callTool({ name: 'deleteBook', arguments: { isbn: '978-0-13-468599-1' } }), /Unknown tool|deleteBook/);
    } finally {
      await client.close();
    }
  });
});
