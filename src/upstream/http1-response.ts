// The response side of the codecs whose peers answer in HTTP/1 (http1-codec, uwsgi-codec): routes the bytes to the
// codec's head reader until it starts the body, then reads the body: none, up to a Content-Length, chunked, or until
// the peer closes. Reports the head, every body slice, then the end (reusable only when the peer keeps the
// connection and sent nothing past the body) or the failure, including a peer that closes early, through
// WireEvents. Not head parsing: the codec reads the head (interim answers, upgrades) and picks the framing.

import { ChunkedDecoder } from '../protocols/http1/chunked-decoder.ts';
import type { ChunkedDecodeErrorCode } from '../protocols/http1/chunked-decoder.ts';
import type { BodyFraming } from '../protocols/http1/response-head.ts';
import type { WireEvents } from './codec.ts';
import type { HeaderList } from './types.ts';

const S_HEAD = 0;
const S_LENGTH = 1;
const S_CHUNKED = 2;
const S_CLOSE = 3;
const S_DONE = 4;

const EMPTY = Buffer.alloc(0);

export class Http1Response {
  readonly #events: WireEvents;
  readonly #readHead: (chunk: Buffer) => Buffer;
  #state = S_HEAD;
  #keepalive = false;
  #remaining = 0;
  #chunked: ChunkedDecoder | null = null;
  #chunkedEnded = false;

  /** readHead: takes response bytes while the head is read; returns the body bytes that follow it, or empty. */
  constructor(events: WireEvents, readHead: (chunk: Buffer) => Buffer) {
    this.#events = events;
    this.#readHead = readHead;
  }

  /** Response bytes, in order. */
  parse(chunk: Buffer): void {
    let data = chunk;
    if (this.#state === S_HEAD) {
      data = this.#readHead(chunk);
      if (data.length === 0) return;
    }
    switch (this.#state) {
      case S_LENGTH: {
        const n = data.length;
        const remaining = this.#remaining;
        if (n < remaining) {
          this.#remaining = remaining - n;
          this.#events.data(data);
          return;
        }
        this.#remaining = 0;
        this.#state = S_DONE;
        this.#events.data(n === remaining ? data : data.subarray(0, remaining));
        this.#events.end(this.#keepalive && n === remaining);
        return;
      }
      case S_CHUNKED: {
        const consumed = this.#chunked!.push(data);
        if (this.#chunkedEnded && this.#state === S_CHUNKED) {
          this.#state = S_DONE;
          this.#events.end(this.#keepalive && consumed === data.length);
        }
        return;
      }
      case S_CLOSE:
        this.#events.data(data);
        return;
    }
  }

  /** The peer closed: ends a body read until close; fails a response cut short in its head or body. */
  eof(): void {
    const state = this.#state;
    this.#state = S_DONE;
    if (state === S_CLOSE) this.#events.end(false);
    else if (state === S_HEAD) this.#events.fail('reset-before-head', 'prematurely closed connection while reading response header');
    else if (state !== S_DONE) this.#events.fail('reset-mid-body', 'prematurely closed connection while reading upstream');
  }

  /** The head reader ended the exchange (an invalid head, an upgrade): nothing more is read. */
  stop(): void {
    this.#state = S_DONE;
  }

  /**
   * Called by the head reader with the final head: reports it and sets up the body; a response without body bytes
   * (no body, or Content-Length 0) ends at once. keepalive: the peer lets the connection be reused. Returns the
   * body bytes in rest, what followed the head in its chunk.
   */
  startBody(status: number, headers: HeaderList, reason: string, framing: BodyFraming, contentLength: number | null, keepalive: boolean, rest: Buffer): Buffer {
    const events = this.#events;
    this.#keepalive = keepalive && framing !== 'close';
    if (framing === 'none' || (framing === 'length' && contentLength === 0)) {
      this.#state = S_DONE;
      events.head(status, headers, reason);
      events.end(this.#keepalive && rest.length === 0);
      return EMPTY;
    }
    if (framing === 'length') {
      this.#state = S_LENGTH;
      this.#remaining = contentLength!;
    } else if (framing === 'chunked') {
      this.#state = S_CHUNKED;
      this.#chunked = new ChunkedDecoder({
        data: (slice) => {
          events.data(slice);
        },
        end: () => {
          this.#chunkedEnded = true;
        },
        error: (_code: ChunkedDecodeErrorCode, message: string) => {
          this.#state = S_DONE;
          events.fail('invalid-body', `sent invalid chunked response: ${message}`);
        },
      });
    } else {
      this.#state = S_CLOSE;
    }
    events.head(status, headers, reason);
    return rest;
  }
}
