// One HTTP/2 request and its response straight on node:http2's ServerHttp2Stream, without node's compat layer
// (Http2ServerRequest / Http2ServerResponse): the request is the stream's head plus the stream itself as the body
// source, the response keeps headers in one object, answers with one stream.respond() and writes to the stream.
// Edge cases follow the compat layer (the 'connection' header dropped, pseudo-headers and empty or spaced names
// refused with a throw from writeHead); events follow node:http ('finish' once the body went out, then 'close').
// Not the listener (listeners.ts routes these like HTTP/1 requests) and not HTTP/1.1 over TLS (node:http's objects).

import { EventEmitter } from 'node:events';
import type { IncomingHttpHeaders, OutgoingHttpHeader } from 'node:http';
import type { ServerHttp2Stream } from 'node:http2';
import { PorticoError } from '../core/errors.ts';
import type { H2Request, H2Response } from '../core/session.ts';

type Peer = H2Request['socket'];
type WriteCallback = (err?: Error | null) => void;
type Headers = Record<string, OutgoingHttpHeader>;

const END_STREAM = { endStream: true } as const;

export class H2StreamRequest implements H2Request {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaders: string[];
  readonly stream: ServerHttp2Stream;
  readonly socket: Peer;

  constructor(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, rawHeaders: string[], peer: Peer) {
    this.stream = stream;
    this.headers = headers;
    this.rawHeaders = rawHeaders;
    this.socket = peer;
    this.method = headers[':method'] as string;
    this.url = headers[':path'] as string;
  }

  get httpVersion(): '2.0' {
    return '2.0';
  }

  get httpVersionMajor(): 2 {
    return 2;
  }

  get httpVersionMinor(): 0 {
    return 0;
  }
}

function headerError(code: string, message: string): PorticoError {
  return new PorticoError(code, 'internal', message);
}

/** The name to send (trimmed, lower case), undefined for a header HTTP/2 drops, or a throw as the compat layer does. */
function checkedName(name: string, value: unknown): string | undefined {
  const n = name.trim().toLowerCase();
  if (n === '' || n.includes(' ')) throw headerError('h2-invalid-header-name', `Header name must be a valid HTTP token ["${n}"]`);
  if (n.charCodeAt(0) === 58) throw headerError('h2-pseudo-header', `Cannot set HTTP/2 pseudo-header "${n}"`);
  if (value === undefined || value === null) throw headerError('h2-invalid-header-value', `Invalid value "${String(value)}" for header "${n}"`);
  if (n === 'connection' && value !== 'trailers') return undefined;
  return n;
}

export class H2StreamResponse extends EventEmitter implements H2Response {
  readonly stream: ServerHttp2Stream;
  private headers: Headers | undefined = undefined;
  private ending = false;
  private closed = false;
  private destroyCalled = false;
  private drainForwarded = false;

  constructor(stream: ServerHttp2Stream) {
    super();
    this.stream = stream;
    stream.on('close', () => this.streamClosed());
  }

  get headersSent(): boolean {
    return this.stream.headersSent;
  }

  get destroyed(): boolean {
    return this.stream.destroyed;
  }

  get writableEnded(): boolean {
    return this.ending;
  }

  get writableFinished(): boolean {
    return this.stream.writableFinished;
  }

  setHeader(name: string, value: number | string | readonly string[]): this {
    if (this.stream.headersSent) throw headerError('h2-headers-sent', 'Response has already been initiated.');
    const n = checkedName(name, value);
    if (n !== undefined) (this.headers ??= Object.create(null) as Headers)[n] = value as OutgoingHttpHeader;
    return this;
  }

  getHeader(name: string): OutgoingHttpHeader | undefined {
    return this.headers?.[name.trim().toLowerCase()];
  }

  writeHead(status: number, headers?: Record<string, string | string[]>): this {
    this.begin(status, headers, false);
    return this;
  }

  /** stream.respond() with the merged headers; endStream when the response is known to have no body. */
  private begin(status: number, headers: Record<string, string | string[]> | undefined, endStream: boolean): void {
    const stream = this.stream;
    if (this.closed || stream.destroyed || stream.closed) return;
    if (stream.headersSent) throw headerError('h2-headers-sent', 'Response has already been initiated.');
    let out = this.headers;
    if (headers !== undefined) {
      let same = out === undefined;
      if (same) {
        for (const k in headers) {
          if (checkedName(k, headers[k]) !== k) {
            same = false;
            break;
          }
        }
      }
      if (same) out = headers;
      else {
        out ??= Object.create(null) as Headers;
        for (const k in headers) {
          const n = checkedName(k, headers[k]);
          if (n !== undefined) out[n] = headers[k];
        }
      }
    }
    out ??= Object.create(null) as Headers;
    out[':status'] = status;
    stream.respond(out, endStream ? END_STREAM : undefined);
    this.headers = out;
  }

  write(chunk: Uint8Array | string, encoding?: BufferEncoding | WriteCallback, cb?: WriteCallback): boolean {
    if (typeof encoding === 'function') {
      cb = encoding;
      encoding = undefined;
    }
    if (this.ending || this.closed) {
      const err = this.ending ? headerError('h2-write-after-end', 'write after end') : headerError('h2-invalid-stream', 'The stream has been destroyed');
      if (cb) process.nextTick(cb, err);
      this.destroy(err);
      return false;
    }
    if (this.destroyCalled) return false;
    const stream = this.stream;
    if (!stream.headersSent) this.begin(200, undefined, false);
    if (stream.writableEnded) {
      if (cb) process.nextTick(cb);
      return true;
    }
    const ok = encoding === undefined ? stream.write(chunk, cb) : stream.write(chunk, encoding, cb);
    if (!ok && !this.drainForwarded) {
      this.drainForwarded = true;
      stream.on('drain', () => this.emit('drain'));
    }
    return ok;
  }

  end(chunk?: Uint8Array | string | (() => void), encoding?: BufferEncoding | (() => void), cb?: () => void): this {
    if (typeof chunk === 'function') {
      cb = chunk;
      chunk = undefined;
    } else if (typeof encoding === 'function') {
      cb = encoding;
      encoding = undefined;
    }
    if (this.closed || this.ending) {
      if (cb) process.nextTick(cb);
      return this;
    }
    this.ending = true;
    const stream = this.stream;
    if (stream.destroyed || stream.closed) {
      if (cb) this.once('finish', cb);
      this.streamClosed();
      return this;
    }
    const body = chunk !== undefined && chunk !== null && chunk.length > 0;
    if (!stream.headersSent) this.begin(200, undefined, !body);
    if (stream.writableEnded) {
      if (cb) {
        if (stream.writableFinished) process.nextTick(cb);
        else stream.once('finish', cb);
      }
    } else if (body) {
      if (encoding === undefined) stream.end(chunk as Uint8Array | string, cb);
      else stream.end(chunk as Uint8Array | string, encoding as BufferEncoding, cb);
    } else stream.end(cb);
    return this;
  }

  destroy(error?: Error): this {
    if (this.destroyCalled) return this;
    this.destroyCalled = true;
    this.stream.destroy(error);
    return this;
  }

  /** 'finish' only when the body went out whole (node:http's meaning; compat emitted it on a reset too), then 'close'. */
  private streamClosed(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.stream.writableFinished) this.emit('finish');
    this.emit('close');
  }
}

function ignore(): void {}

/**
 * A new stream from node:http2's 'stream' event: CONNECT answered 405 and an Expect other than 100-continue 417,
 * as node's compat layer does; otherwise the request and response for the listener. Stream errors (a client's
 * RST_STREAM with an error code) are reported through 'close', never thrown.
 */
export function acceptStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, rawHeaders: string[], peer: Peer): { req: H2StreamRequest; res: H2StreamResponse } | undefined {
  stream.on('error', ignore);
  const method = headers[':method'];
  const expect = headers.expect;
  if (method === 'CONNECT' || (expect !== undefined && expect !== '100-continue')) {
    if (!stream.destroyed && !stream.closed) stream.respond({ ':status': method === 'CONNECT' ? 405 : 417 }, END_STREAM);
    return undefined;
  }
  return { req: new H2StreamRequest(stream, headers, rawHeaders, peer), res: new H2StreamResponse(stream) };
}
