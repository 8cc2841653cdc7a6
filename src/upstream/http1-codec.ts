// HTTP/1.0 and 1.1 as a wire codec: writes the request line and headers exactly as the pipeline gave them, frames
// a chunked request body, and reads the response with src/protocols/http1 (head parser, chunked decoder).
// Not the header policy (Host, Connection, hop-by-hop): the pipeline decides every header that is sent.

import { Http1ResponseHeadParser, bodyFraming } from '../protocols/http1/response-head.ts';
import type { Http1ResponseHead } from '../protocols/http1/response-head.ts';
import { ChunkedDecoder } from '../protocols/http1/chunked-decoder.ts';
import type { ChunkedDecodeErrorCode } from '../protocols/http1/chunked-decoder.ts';
import type { WireCodec, WireEvents, WireSession } from './codec.ts';
import type { HttpRequest } from './types.ts';

const CRLF = Buffer.from('\r\n', 'latin1');
const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');

export const http1Codec: WireCodec<HttpRequest> = {
  begin(request, events, maxHeadBytes, upgrade) {
    return new Http1Session(request, events, maxHeadBytes, upgrade);
  },
};

const S_HEAD = 0;
const S_LENGTH = 1;
const S_CHUNKED = 2;
const S_CLOSE = 3;
const S_DONE = 4;

class Http1Session implements WireSession {
  readonly head: Buffer;
  readonly #events: WireEvents;
  readonly #maxHead: number;
  readonly #upgrade: boolean;
  readonly #headMethod: boolean;
  readonly #chunkedRequest: boolean;
  #keepalive: boolean;
  #parser: Http1ResponseHeadParser;
  #state = S_HEAD;
  #remaining = 0;
  #chunked: ChunkedDecoder | null = null;
  #chunkedEnded = false;

  constructor(request: HttpRequest, events: WireEvents, maxHead: number, upgrade: boolean) {
    this.#events = events;
    this.#maxHead = maxHead;
    this.#upgrade = upgrade;
    this.#headMethod = request.method === 'HEAD';
    this.#parser = new Http1ResponseHeadParser({ maxSize: maxHead });
    let text = `${request.method} ${request.target} HTTP/${request.version}\r\n`;
    let chunked = false;
    let keepalive = request.version === '1.1';
    const headers = request.headers;
    for (let i = 0; i < headers.length; i++) {
      const name = headers[i][0];
      const value = headers[i][1];
      text += `${name}: ${value}\r\n`;
      if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') {
        chunked = /(^|,)\s*chunked\s*$/i.test(value);
      } else if (name.length === 10 && name.toLowerCase() === 'connection') {
        if (/(^|,)\s*close\s*(,|$)/i.test(value)) keepalive = false;
        else if (/(^|,)\s*keep-alive\s*(,|$)/i.test(value)) keepalive = true;
      }
    }
    this.head = Buffer.from(`${text}\r\n`, 'latin1');
    this.#chunkedRequest = chunked;
    this.#keepalive = keepalive;
  }

  frame(chunk: Buffer): Buffer | readonly Buffer[] {
    if (!this.#chunkedRequest) return chunk;
    return [Buffer.from(`${chunk.length.toString(16)}\r\n`, 'latin1'), chunk, CRLF];
  }

  finish(): Buffer | null {
    return this.#chunkedRequest ? LAST_CHUNK : null;
  }

  parse(chunk: Buffer): void {
    let data = chunk;
    if (this.#state === S_HEAD) {
      data = this.#parseHead(chunk);
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

  eof(): void {
    switch (this.#state) {
      case S_CLOSE:
        this.#state = S_DONE;
        this.#events.end(false);
        return;
      case S_HEAD:
        this.#state = S_DONE;
        this.#events.fail('reset-before-head', 'prematurely closed connection while reading response header');
        return;
      case S_LENGTH:
      case S_CHUNKED:
        this.#state = S_DONE;
        this.#events.fail('reset-mid-body', 'prematurely closed connection while reading upstream');
        return;
    }
  }

  /** Returns the body bytes that follow a complete final head in chunk; empty while the head is incomplete. */
  #parseHead(chunk: Buffer): Buffer {
    let input = chunk;
    for (;;) {
      const r = this.#parser.push(input);
      if (r.state === 'more') return EMPTY;
      if (r.state === 'error') {
        this.#state = S_DONE;
        if (r.error.code === 'too-big-header') this.#events.fail('head-too-big', 'sent too big header');
        else this.#events.fail('invalid-head', `sent invalid header: ${r.error.message}`);
        return EMPTY;
      }
      const head = r.head;
      const rest = r.bodyOffset === 0 ? input : input.subarray(r.bodyOffset);
      if (head.status === 101) {
        this.#state = S_DONE;
        if (this.#upgrade) this.#events.upgrade(101, head.headers, head.reason, rest);
        else this.#events.fail('invalid-head', 'sent "101 Switching Protocols" to a request without Upgrade');
        return EMPTY;
      }
      if (head.status < 200) {
        this.#parser = new Http1ResponseHeadParser({ maxSize: this.#maxHead });
        if (rest.length === 0) return EMPTY;
        input = rest;
        continue;
      }
      return this.#startBody(head, rest);
    }
  }

  #startBody(head: Http1ResponseHead, rest: Buffer): Buffer {
    if (!head.keepAlive) this.#keepalive = false;
    const framing = bodyFraming(head, this.#headMethod);
    const events = this.#events;
    if (framing === 'none' || (framing === 'length' && head.contentLength === 0)) {
      this.#state = S_DONE;
      events.head(head.status, head.headers, head.reason);
      events.end(this.#keepalive && rest.length === 0);
      return EMPTY;
    }
    if (framing === 'length') {
      this.#state = S_LENGTH;
      this.#remaining = head.contentLength!;
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
      this.#keepalive = false;
    }
    events.head(head.status, head.headers, head.reason);
    return rest;
  }
}

const EMPTY = Buffer.alloc(0);
