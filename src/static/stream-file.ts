// Sends a FileResponsePlan's body from an fd (or a path) to a node:http response or an HTTP/2 stream's response: small
// bodies in one read and one write, larger ones in fixed-size chunks read one ahead into a small ring of reused
// buffers, honouring write() backpressure, and closing the fd exactly once (after its last read) on completion,
// failure or client abort. Not the header writer: the pipeline sends status and headers before streamFile.

import { close, constants, open, read } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { isPorticoError, type PorticoError } from '../core/errors.ts';
import type { H2Response } from '../core/session.ts';
import type { FileBody, FileResponsePlan } from './file-response.ts';
import { StaticErrorCode, fsErrorToStatic, staticError } from './static-errors.ts';

export type ResponseSink = ServerResponse | H2Response;

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
      const ring = new BufferRing(chunkSize, RING_BUFFERS, watch);
      for (const segment of segments) {
        if ('bytes' in segment) {
          if (!writeChunk(res, segment.bytes)) await watch.drained();
          bytesSent += segment.bytes.length;
        } else {
          bytesSent += await pumpRange(res, watch, ring, fd, segment.start, segment.length);
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

/**
 * Copies `length` bytes at `position` to `res` in chunks, reading the next chunk while the previous one is being
 * written. Chunk buffers come from a small ring and are reused once the response reports them written, so a
 * large file costs a fixed few buffers instead of one garbage buffer per chunk.
 */
async function pumpRange(
  res: ResponseSink,
  watch: ResponseWatch,
  ring: BufferRing,
  fd: number,
  position: number,
  length: number,
): Promise<number> {
  const chunkSize = ring.size;
  let sent = 0;
  let nextPosition = position;
  let left = length;
  const readNext = async (): Promise<Buffer> => {
    const n = Math.min(chunkSize, left);
    const at = nextPosition;
    nextPosition += n;
    left -= n;
    const buf = await ring.acquire();
    await readFully(fd, buf, 0, n, at);
    return n === buf.length ? buf : buf.subarray(0, n);
  };

  let pending: Promise<Buffer> | undefined = readNext();
  try {
    while (pending) {
      const chunk: Buffer = await pending;
      pending = left > 0 && !watch.gone() ? readNext() : undefined;
      if (watch.gone()) break;
      const flowing = writeChunk(res, chunk, ring.releaser(chunk));
      sent += chunk.length;
      if (!flowing) await watch.drained();
    }
  } finally {
    if (pending) await pending.catch(() => undefined);
  }
  return sent;
}

const RING_BUFFERS = 4;

/** Fixed set of equally sized buffers handed out for reads and returned by write callbacks. */
class BufferRing {
  readonly #size: number;
  readonly #max: number;
  readonly #watch: ResponseWatch;
  readonly #free: Buffer[] = [];
  readonly #waiting: Array<(buf: Buffer) => void> = [];
  #allocated = 0;

  constructor(size: number, max: number, watch: ResponseWatch) {
    this.#size = size;
    this.#max = max;
    this.#watch = watch;
  }

  get size(): number {
    return this.#size;
  }

  async acquire(): Promise<Buffer> {
    const free = this.#free.pop();
    if (free) return free;
    if (this.#allocated < this.#max || this.#watch.gone()) {
      this.#allocated++;
      return Buffer.allocUnsafeSlow(this.#size);
    }
    return new Promise((resolve) => {
      this.#waiting.push(resolve);
      this.#watch.onGone(() => {
        const i = this.#waiting.indexOf(resolve);
        if (i >= 0) {
          this.#waiting.splice(i, 1);
          resolve(Buffer.allocUnsafeSlow(this.#size));
        }
      });
    });
  }

  /** Write callback returning the chunk's backing buffer to the ring once the response is done with it. */
  releaser(chunk: Buffer): (err?: Error | null) => void {
    const whole = chunk.length === this.#size ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, this.#size);
    return (err) => {
      if (err) return;
      const waiter = this.#waiting.shift();
      if (waiter) waiter(whole);
      else this.#free.push(whole);
    };
  }
}

function writeChunk(res: ResponseSink, chunk: Buffer, written?: (err?: Error | null) => void): boolean {
  return (res as ServerResponse).write(chunk, written);
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
  /** Runs `fn` once the response is gone (at once if it already is). */
  onGone(fn: () => void): void;
  dispose(): void;
}

function watchResponse(res: ResponseSink): ResponseWatch {
  const emitter = res as ServerResponse;
  let aborted = false;
  let finished = emitter.writableFinished;
  const waiters = new Set<() => void>();
  const goneHooks: Array<() => void> = [];
  const wake = (): void => {
    for (const w of waiters) w();
    waiters.clear();
    if (gone()) for (const hook of goneHooks.splice(0)) hook();
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
    onGone(fn) {
      if (gone()) fn();
      else goneHooks.push(fn);
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
