import type { ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { stripHopByHop } from '../pipeline/index.ts';

/**
 * Writes the answer of a process this one forwarded a request to (a worker that owns the session, or the replica
 * that does) to the client as it comes, chunk by chunk (SSE streams flow), with back-pressure; resolves once the
 * answer ended or broke (a broken one destroys the client's response).
 */
export function relayAnswer(answer: Dispatcher.ResponseData, res: ServerResponse): Promise<void> {
  return new Promise<void>((resolve) => {
    res.writeHead(answer.statusCode, stripHopByHop(answer.headers as Record<string, string | string[]>) as Record<string, string | string[]>);
    answer.body.on('data', (chunk: Buffer) => {
      if (!res.write(chunk)) answer.body.pause();
    });
    res.on('drain', () => answer.body.resume());
    answer.body.once('end', () => {
      res.end();
      resolve();
    });
    answer.body.once('error', () => {
      res.destroy();
      resolve();
    });
  });
}
