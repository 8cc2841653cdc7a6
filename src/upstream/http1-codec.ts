// HTTP/1.0 and 1.1 as a wire codec: writes the request line and headers exactly as the pipeline gave them, frames
// a chunked request body, and reads the response head with src/protocols/http1's parser (interim answers skipped,
// 101 to an upgrade), the body with http1-response.ts.
// Not the header policy (Host, Connection, hop-by-hop): the pipeline decides every header that is sent.

import { Http1ResponseHeadParser, bodyFraming } from '../protocols/http1/response-head.ts';
import type { Http1ResponseHead } from '../protocols/http1/response-head.ts';
import type { WireCodec, WireEvents, WireSession } from './codec.ts';
import { Http1Response } from './http1-response.ts';
import type { HttpRequest } from './types.ts';

const CRLF = Buffer.from('\r\n', 'latin1');
const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');

export const http1Codec: WireCodec<HttpRequest> = {
  begin(request, events, maxHeadBytes, upgrade) {
    return new Http1Session(request, events, maxHeadBytes, upgrade);
  },
};

class Http1Session implements WireSession {
  readonly head: Buffer;
  readonly #events: WireEvents;
  readonly #maxHead: number;
  readonly #upgrade: boolean;
  readonly #headMethod: boolean;
  readonly #chunkedRequest: boolean;
  #keepalive: boolean;
  #parser: Http1ResponseHeadParser;
  readonly #response: Http1Response;

  constructor(request: HttpRequest, events: WireEvents, maxHead: number, upgrade: boolean) {
    this.#events = events;
    this.#maxHead = maxHead;
    this.#upgrade = upgrade;
    this.#headMethod = request.method === 'HEAD';
    this.#parser = new Http1ResponseHeadParser({ maxSize: maxHead });
    this.#response = new Http1Response(events, (chunk) => this.#parseHead(chunk));
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
    this.#response.parse(chunk);
  }

  eof(): void {
    this.#response.eof();
  }

  /** Returns the body bytes that follow a complete final head in chunk; empty while the head is incomplete. */
  #parseHead(chunk: Buffer): Buffer {
    let input = chunk;
    for (;;) {
      const r = this.#parser.push(input);
      if (r.state === 'more') return EMPTY;
      if (r.state === 'error') {
        this.#response.stop();
        if (r.error.code === 'too-big-header') this.#events.fail('head-too-big', 'sent too big header');
        else this.#events.fail('invalid-head', `sent invalid header: ${r.error.message}`);
        return EMPTY;
      }
      const head = r.head;
      const rest = r.bodyOffset === 0 ? input : input.subarray(r.bodyOffset);
      if (head.status === 101) {
        this.#response.stop();
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
    return this.#response.startBody(head.status, head.headers, head.reason, framing, head.contentLength, this.#keepalive, rest);
  }
}

const EMPTY = Buffer.alloc(0);
