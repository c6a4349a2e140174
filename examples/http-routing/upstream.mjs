// A demo upstream for the http-routing example: answers with what it received.
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? 9000);
createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ path: req.url, route: req.headers['x-route'] ?? null }));
}).listen(port, '127.0.0.1', () => console.log(`demo upstream on http://127.0.0.1:${port}`));
