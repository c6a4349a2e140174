// The ceiling of the HTTP bench: a bare node:http + undici proxy on the same Node, no routing, no policies, no
// telemetry. Portcullis cannot be faster than this on its runtime; the bench reports it as the ratio to reach.
// Usage: node bench/bare-proxy.mjs <listenPort> <upstreamPort>
import { createServer } from 'node:http';
import { Agent } from 'undici';

const [port, upstream] = process.argv.slice(2).map(Number);
const agent = new Agent({ keepAliveTimeout: 60_000 });
const origin = `http://127.0.0.1:${upstream}`;
createServer((req, res) => {
  const headers = { ...req.headers };
  delete headers.connection;
  delete headers['keep-alive'];
  agent
    .request({ origin, path: req.url, method: req.method, headers, body: req.method === 'GET' || req.method === 'HEAD' ? undefined : req })
    .then(({ statusCode, headers, body }) => {
      res.writeHead(statusCode, headers);
      body.pipe(res);
    })
    .catch(() => {
      res.writeHead(502);
      res.end();
    });
}).listen(port, '127.0.0.1');
// A clean exit on SIGTERM, so that --cpu-prof can write its profile.
process.on('SIGTERM', () => process.exit(0));
