import type { Readable } from 'node:stream';

const EMPTY = Buffer.alloc(0);

/**
 * A body read whole on its `data` events: one promise per body, where `for await` makes one per chunk and an
 * iterator per stream. Fails with the stream's error (a size limit the stream enforces, a client gone), or when the
 * stream closes before its end.
 */
export function readWhole(body: Readable | undefined): Promise<Buffer> {
  if (!body) return Promise.resolve(EMPTY);
  return new Promise<Buffer>((resolve, reject) => {
    if (body.readableEnded) return resolve(EMPTY);
    if (body.destroyed) return reject(body.errored ?? prematureClose());
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer | string) => {
      const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      chunks.push(b);
      size += b.length;
    };
    const settle = () => {
      body.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
    };
    const onEnd = () => {
      settle();
      resolve(chunks.length === 0 ? EMPTY : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      settle();
      reject(err);
    };
    // Destroyed without an error: the stream will never end.
    const onClose = () => {
      settle();
      reject(body.errored ?? prematureClose());
    };
    body.on('data', onData).once('end', onEnd).once('error', onError).once('close', onClose);
  });
}

/** The error `for await` gives for a stream that closed before its end (Node's ERR_STREAM_PREMATURE_CLOSE). */
function prematureClose(): Error {
  return Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
}
