// Reads the downstream request body for an upstream exchange as nginx's *_request_buffering decides: buffered
// (in memory up to client_body_buffer_size, then in a temp file, so a retry can send it again) or streamed as it
// arrives. client_max_body_size is enforced on the bytes actually read (413), client_body_timeout between reads.

import { createReadStream, createWriteStream, unlink, type WriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PorticoError } from '../../core/errors.ts';
import type { DownstreamRequest } from '../../core/session.ts';
import type { RequestBody, StreamBody } from '../../upstream/types.ts';

let tempCounter = 0;

export function hasBody(req: DownstreamRequest): boolean {
  if ('stream' in req) return !req.stream.endAfterHeaders;
  const cl = req.headers['content-length'];
  if (cl !== undefined) return cl !== '0';
  return req.headers['transfer-encoding'] !== undefined;
}

/** Where the body bytes come from: the HTTP/2 stream itself, or node:http's request. */
function bodySource(req: DownstreamRequest): Readable {
  return 'stream' in req ? req.stream : req;
}

export function streamBody(req: DownstreamRequest): StreamBody {
  const cl = req.headers['content-length'];
  return { kind: 'stream', stream: bodySource(req), length: cl === undefined ? null : Number(cl) };
}

export interface BufferedBody {
  body: RequestBody;
  cleanup(): void;
}

export function bufferBody(downstream: DownstreamRequest, maxSize: number, memLimit: number, timeoutMs: number): Promise<BufferedBody> {
  const req = bodySource(downstream);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let file: WriteStream | undefined;
    let path = '';
    let done = false;
    const timer = timeoutMs > 0 ? setTimeout(() => fail(new PorticoError('body-timeout', 'downstream', 'client timed out while reading client request body')), timeoutMs) : undefined;
    const cleanupFile = () => {
      if (path) unlink(path, () => undefined);
    };
    const fail = (e: PorticoError) => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      req.off('data', onData);
      file?.destroy();
      cleanupFile();
      reject(e);
    };
    const onData = (chunk: Buffer) => {
      timer?.refresh();
      size += chunk.length;
      if (maxSize > 0 && size > maxSize) return fail(new PorticoError('body-too-large', 'downstream', `client intended to send too large body: ${size} bytes`));
      if (file) {
        if (!file.write(chunk)) {
          req.pause();
          file.once('drain', () => req.resume());
        }
        return;
      }
      chunks.push(chunk);
      if (size > memLimit) {
        path = join(tmpdir(), `portico-body-${process.pid}-${++tempCounter}`);
        file = createWriteStream(path, { mode: 0o600 });
        file.on('error', (e) => fail(new PorticoError('body-temp-file', 'internal', `cannot write request body to temp file: ${e.message}`)));
        for (const c of chunks) file.write(c);
        chunks.length = 0;
      }
    };
    req.on('data', onData);
    req.once('error', (e: Error) => fail(new PorticoError('body-read', 'downstream', `client closed connection while reading request body: ${e.message}`)));
    req.once('aborted', () => fail(new PorticoError('body-read', 'downstream', 'client closed connection while reading request body')));
    req.once('end', () => {
      if (done) return;
      const finish = () => {
        done = true;
        if (timer) clearTimeout(timer);
        if (!file) return resolve({ body: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size), cleanup() {} });
        const p = path;
        resolve({ body: { kind: 'replayable', length: size, open: () => createReadStream(p) }, cleanup: cleanupFile });
      };
      if (file) file.end(finish);
      else finish();
    });
  });
}
