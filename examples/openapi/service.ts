// The REST service behind examples/openapi: a book catalogue in memory, described by openapi.yaml.
// Run it: `node_modules/.bin/node examples/openapi/service.ts` (port 3701, or PORT). Adding a book needs `authorization: Bearer
// library-demo-key`, which the gateway adds; agents never hold it.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export const API_KEY = 'library-demo-key';

interface Book {
  isbn: string;
  title: string;
  author: string;
  genre?: string;
  published?: string;
  tags?: string[];
}

const json = (res: import('node:http').ServerResponse, status: number, body?: unknown) => {
  if (body === undefined) return void res.writeHead(status).end();
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
};

export async function startLibrary(port = Number(process.env.PORT ?? 3701)): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const books = new Map<string, Book>([
    ['978-0-13-468599-1', { isbn: '978-0-13-468599-1', title: 'The Pragmatic Programmer', author: 'Hunt, Thomas', genre: 'science', published: '2019-09-13' }],
    ['978-0-14-143951-8', { isbn: '978-0-14-143951-8', title: 'Pride and Prejudice', author: 'Jane Austen', genre: 'fiction', published: '1813-01-28' }],
    ['978-0-19-953556-9', { isbn: '978-0-19-953556-9', title: 'The Histories', author: 'Herodotus', genre: 'history' }],
  ]);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://library');
      const m = /^\/api\/books(?:\/([^/]+))?$/.exec(url.pathname);
      if (!m) return json(res, 404, { error: 'not found' });
      const isbn = m[1] && decodeURIComponent(m[1]);
      if (!isbn && req.method === 'GET') {
        const genre = url.searchParams.get('genre');
        const limit = Number(url.searchParams.get('limit') ?? 10);
        const list = [...books.values()].filter((b) => !genre || b.genre === genre).sort((a, b) => (b.published ?? '').localeCompare(a.published ?? ''));
        return json(res, 200, list.slice(0, limit));
      }
      if (!isbn && req.method === 'POST') {
        if (req.headers.authorization !== `Bearer ${API_KEY}`) return json(res, 401, { error: 'an API key is required to add books' });
        const book = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Book;
        if (books.has(book.isbn)) return json(res, 409, { error: `a book with ISBN ${book.isbn} exists` });
        books.set(book.isbn, book);
        return json(res, 201, book);
      }
      if (isbn && req.method === 'GET') return books.has(isbn) ? json(res, 200, books.get(isbn)) : json(res, 404, { error: `no book with ISBN ${isbn}` });
      if (isbn && req.method === 'DELETE') return books.delete(isbn) ? json(res, 204) : json(res, 404, { error: `no book with ISBN ${isbn}` });
      json(res, 405, { error: 'method not allowed' });
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  const actual = (server.address() as AddressInfo).port;
  return {
    server,
    port: actual,
    close: () =>
      new Promise((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { port } = await startLibrary();
  console.log(`library REST service listening on http://127.0.0.1:${port}/api`);
}
