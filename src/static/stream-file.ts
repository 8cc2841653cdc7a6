// Sends a FileResponsePlan's body from an fd (or a path) to a node:http or node:http2 compat response: small
// bodies in one read and one write, larger ones in fixed-size chunks with one read ahead, honouring
// write() backpressure, and closing the fd exactly once (after its last read) on completion, failure or client
// abort. Not the header writer: the pipeline sends status and headers before calling streamFile.

import { close, constants, open, read } from 'node:fs';
import type { ServerResponse } from 'node:http';
import type { Http2ServerResponse } from 'node:http2';
import { isPorticoError, type PorticoError } from '../core/errors.ts';
import type { FileBody, FileResponsePlan } from './file-response.ts';
import { StaticErrorCode, fsErrorToStatic, staticError } from './static-errors.ts';

export type ResponseSink = ServerResponse | Http2ServerResponse;

export interface StreamFileOptions {
  /** Bytes per read/write for large bodies. Default 64 KiB. */
  readonly chunkSize?: number;
  /** Bodies up to this many bytes are read whole and written once. Default 64 KiB. */
  readonly smallBodyLimit?: number;
}

export interface StreamResult {
  /** finished: every byte handed to the response and it finished; aborted: the client went away first. */
  readonly outcome: 'finished' | 'aborted' | 'failed';
  /** Body bytes handed to res.write/res.end. */
  readonly bytesSent: number;
  /** Set when outcome is 'failed' (the response was destroyed). */
  readonly error?: PorticoError;
}

const DEFAULT_CHUNK = 64 * 1024;

type Segment = { readonly bytes: Buffer } | { readonly start: number; readonly length: number };

class TruncatedError extends Error {}

/**
 * Streams `plan.body` from `source` (an fd this call takes ownership of, or a path it opens) into `res`, then
 * ends `res`. Never rejects: failures destroy the response and are reported in the result.
 */
export async function streamFile(
  res: ResponseSink,
  plan: Pick<FileResponsePlan, 'body'>,
  source: number | string,
  options: StreamFileOptions = {},
): Promise<StreamResult> {
  const chunkSize = Math.max(1, options.chunkSize ?? DEFAULT_CHUNK);
  const smallLimit = options.smallBodyLimit ?? DEFAULT_CHUNK;
  const watch = watchResponse(res);
  let fd = typeof source === 'number' ? source : -1;
  let bytesSent = 0;

  const releaseFd = (): void => {
    if (fd >= 0) {
      close(fd, () => undefined);
      fd = -1;
    }
  };

  try {
    const segments = toSegments(plan.body);
    const total = segments.reduce((n, s) => n + ('bytes' in s ? s.bytes.length : s.length), 0);
    if (fd < 0 && segments.some((s) => !('bytes' in s))) {
      try {
        fd = await openAsync(source as string);
      } catch (err) {
        throw fsErrorToStatic(err, source as string);
      }
    }

    if (watch.gone()) return { outcome: 'aborted', bytesSent };

    if (total <= smallLimit) {
      const whole = Buffer.allocUnsafe(total);
      let offset = 0;
      for (const segment of segments) {
        if ('bytes' in segment) {
          segment.bytes.copy(whole, offset);
          offset += segment.bytes.length;
        } else {
          await readFully(fd, whole, offset, segment.length, segment.start);
          offset += segment.length;
        }
      }
      releaseFd();
      if (watch.gone()) return { outcome: 'aborted', bytesSent };
      res.end(whole);
      bytesSent = total;
    } else {
      for (const segment of segments) {
        if ('bytes' in segment) {
          if (!writeChunk(res, segment.bytes)) await watch.drained();
          bytesSent += segment.bytes.length;
        } else {
          bytesSent += await pumpRange(res, watch, fd, segment.start, segment.length, chunkSize);
        }
        if (watch.gone()) return { outcome: 'aborted', bytesSent };
      }
      releaseFd();
      res.end();
    }
    return { outcome: (await watch.ended()) ? 'finished' : 'aborted', bytesSent };
  } catch (err) {
    const error =
      err instanceof TruncatedError
        ? staticError(StaticErrorCode.readFailed, 'file was truncated while sending', 'internal')
        : isPorticoError(err)
          ? err
          : staticError(StaticErrorCode.readFailed, `reading file failed: ${String(err)}`, 'internal', err);
    if (!watch.gone()) res.destroy();
    return { outcome: 'failed', bytesSent, error };
  } finally {
    releaseFd();
    watch.dispose();
  }
}

function toSegments(body: FileBody): Segment[] {
  switch (body.kind) {
    case 'none':
      return [];
    case 'range':
      return [{ start: body.start, length: body.end - body.start + 1 }];
    case 'multipart': {
      const segments: Segment[] = [];
      for (const part of body.parts) {
        segments.push({ bytes: Buffer.from(part.header, 'latin1') });
        segments.push({ start: part.start, length: part.end - part.start + 1 });
      }
      segments.push({ bytes: Buffer.from(body.trailer, 'latin1') });
      return segments;
    }
  }
}

/** Copies `length` bytes at `position` to `res` chunk by chunk, reading the next chunk while this one is written. */
async function pumpRange(
  res: ResponseSink,
  watch: ResponseWatch,
  fd: number,
  position: number,
  length: number,
  chunkSize: number,
): Promise<number> {
  let sent = 0;
  let nextPosition = position;
  let left = length;
  const readNext = (): Promise<Buffer> => {
    const n = Math.min(chunkSize, left);
    const at = nextPosition;
    nextPosition += n;
    left -= n;
    const buf = Buffer.allocUnsafe(n);
    return readFully(fd, buf, 0, n, at).then(() => buf);
  };

  let pending: Promise<Buffer> | undefined = readNext();
  try {
    while (pending) {
      const chunk: Buffer = await pending;
      pending = left > 0 && !watch.gone() ? readNext() : undefined;
      if (watch.gone()) break;
      const flowing = writeChunk(res, chunk);
      sent += chunk.length;
      if (!flowing) await watch.drained();
    }
  } finally {
    if (pending) await pending.catch(() => undefined);
  }
  return sent;
}

function writeChunk(res: ResponseSink, chunk: Buffer): boolean {
  return (res as ServerResponse).write(chunk);
}

async function readFully(fd: number, buf: Buffer, offset: number, length: number, position: number): Promise<void> {
  let done = 0;
  while (done < length) {
    const n = await readAsync(fd, buf, offset + done, length - done, position + done);
    if (n === 0) throw new TruncatedError();
    done += n;
  }
}

function readAsync(fd: number, buf: Buffer, offset: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    read(fd, buf, offset, length, position, (err, bytesRead) => (err ? reject(err) : resolve(bytesRead)));
  });
}

function openAsync(path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    open(path, constants.O_RDONLY | constants.O_NONBLOCK, (err, fd) => (err ? reject(err) : resolve(fd)));
  });
}

interface ResponseWatch {
  /** The client went away (or the response errored) before it finished. */
  gone(): boolean;
  /** Resolves on 'drain', or at once when gone. */
  drained(): Promise<void>;
  /** Resolves true on 'finish', false on a premature 'close'. */
  ended(): Promise<boolean>;
  dispose(): void;
}

function watchResponse(res: ResponseSink): ResponseWatch {
  const emitter = res as ServerResponse;
  let aborted = false;
  let finished = emitter.writableFinished;
  const waiters = new Set<() => void>();
  const wake = (): void => {
    for (const w of waiters) w();
    waiters.clear();
  };
  const onClose = (): void => {
    if (!finished) aborted = true;
    wake();
  };
  const onError = (): void => {
    aborted = true;
    wake();
  };
  const onFinish = (): void => {
    finished = true;
    wake();
  };
  const onDrain = (): void => wake();
  emitter.on('close', onClose);
  emitter.on('error', onError);
  emitter.on('finish', onFinish);
  emitter.on('drain', onDrain);

  const gone = (): boolean => aborted || (!finished && emitter.destroyed === true);
  const wait = (): Promise<void> => new Promise((resolve) => waiters.add(resolve));

  return {
    gone,
    async drained() {
      if (!gone()) await wait();
    },
    async ended() {
      while (!finished && !gone()) await wait();
      return finished;
    },
    dispose() {
      emitter.off('close', onClose);
      emitter.off('error', onError);
      emitter.off('finish', onFinish);
      emitter.off('drain', onDrain);
      wake();
    },
  };
}
