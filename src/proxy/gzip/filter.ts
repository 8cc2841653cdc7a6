// The gzip body filter installed on one response (node:http or the HTTP/2 adapter) once its head is decided:
// a body given whole to end() is compressed in one gzipSync call; a body written in pieces goes through a zlib
// Gzip stream, flushed (Z_SYNC_FLUSH) whenever the producer pauses, so streamed responses are not held back.
// Producers keep their backpressure: write() returns false while zlib or the response is full, and 'drain' is
// emitted when both can take more. Not the decision (decide.ts) and not the headers (the session's sendHead).

import { constants, createGzip, gzipSync, type Gzip } from 'node:zlib';
import { endCallback, endChunk, toBuffer, writeCallback, type EndFn, type WriteFn } from '../response-write.ts';


interface Target {
  write: WriteFn;
  end: EndFn;
  emit(event: string, ...args: unknown[]): boolean;
  on(event: string, fn: (...args: unknown[]) => void): unknown;
  once(event: string, fn: (...args: unknown[]) => void): unknown;
  destroy(err?: Error): unknown;
  readonly destroyed: boolean;
}

/** Byte counts of a finished compression: what the producer gave and what went to the client. */
export type GzipDone = (bytesIn: number, bytesOut: number) => void;

export class GzipFilter {
  readonly #res: Target;
  readonly #level: number;
  readonly #done: GzipDone;
  readonly #write: WriteFn;
  readonly #end: EndFn;
  #gz: Gzip | null = null;
  #in = 0;
  #out = 0;
  #ended = false;
  #outBlocked = false;
  #owesDrain = false;
  #flushQueued = false;

  constructor(res: Target, level: number, done: GzipDone) {
    this.#res = res;
    this.#level = level;
    this.#done = done;
    this.#write = res.write;
    this.#end = res.end;
    res.write = (chunk, encoding, cb) => this.write(chunk, encoding, cb);
    res.end = (chunk, encoding, cb) => {
      this.end(chunk, encoding, cb);
      return res;
    };
  }

  private write(chunk: unknown, encoding: unknown, cb: unknown): boolean {
    if (this.#ended || this.#res.destroyed) return false;
    const buf = toBuffer(chunk, encoding);
    this.#in += buf.length;
    const gz = this.#gz ?? this.#open();
    const done = writeCallback(encoding, cb);
    const ok = done ? gz.write(buf, done) : gz.write(buf);
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      setImmediate(() => this.#flush());
    }
    if (!ok) this.#owesDrain = true;
    return ok && !this.#outBlocked;
  }

  private end(chunk: unknown, encoding: unknown, cb: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    const done = endCallback(chunk, encoding, cb);
    const data = endChunk(chunk, encoding);
    if (this.#res.destroyed) return;
    if (this.#gz === null) {
      const whole = data ?? Buffer.alloc(0);
      this.#in += whole.length;
      const out = gzipSync(whole, { level: this.#level });
      this.#out = out.length;
      this.#done(this.#in, this.#out);
      this.#end.call(this.#res, out, done);
      return;
    }
    const gz = this.#gz;
    if (data !== undefined) {
      this.#in += data.length;
      gz.write(data);
    }
    gz.once('end', () => {
      this.#done(this.#in, this.#out);
      this.#end.call(this.#res, done);
    });
    gz.end();
  }

  #open(): Gzip {
    const gz = createGzip({ level: this.#level });
    this.#gz = gz;
    const res = this.#res;
    gz.on('data', (d: Buffer) => {
      this.#out += d.length;
      if (!this.#write.call(res, d)) {
        this.#outBlocked = true;
        gz.pause();
      }
    });
    gz.on('drain', () => this.#maybeDrain());
    gz.on('error', (err: Error) => res.destroy(err));
    res.on('drain', () => {
      if (!this.#outBlocked) return;
      this.#outBlocked = false;
      gz.resume();
      this.#maybeDrain();
    });
    res.once('close', () => {
      if (!gz.destroyed) gz.destroy();
    });
    return gz;
  }

  #maybeDrain(): void {
    if (!this.#owesDrain || this.#outBlocked || this.#gz?.writableNeedDrain) return;
    this.#owesDrain = false;
    this.#res.emit('drain');
  }

  #flush(): void {
    this.#flushQueued = false;
    const gz = this.#gz;
    if (gz === null || this.#ended || gz.destroyed) return;
    gz.flush(constants.Z_SYNC_FLUSH);
  }
}
