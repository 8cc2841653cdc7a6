// uwsgi as a wire codec (nginx's ngx_http_uwsgi_module on the wire): the vars packet as the head, the body raw
// after it, the response read as HTTP/1 (status line, headers, then Content-Length, chunked or until close), or as
// a CGI head when it does not start with a status line, as nginx falls back. uWSGI closes the connection after
// every response, so an exchange never leaves it reusable.
// Not the vars policy (which variables are sent): the pipeline builds the list and answers 414/431 when too big.

import { encodeUwsgiPacket, UWSGI_MAX_VARS_SIZE } from '../protocols/uwsgi/packet.ts';
import type { NameValue } from '../protocols/name-value-input.ts';
import { Http1ResponseHeadParser } from '../protocols/http1/response-head.ts';
import { CgiResponseHeadParser } from '../protocols/cgi/response-head.ts';
import { ChunkedDecoder } from '../protocols/http1/chunked-decoder.ts';
import { HeadError, type HeadPushResult } from '../protocols/http1/head-error.ts';
import type { HeaderField } from '../protocols/http1/header-lines.ts';
import type { WireCodec, WireEvents, WireSession } from './codec.ts';
import type { HeaderList } from './types.ts';

export interface UwsgiRequest {
  /** The encoded packet: 4-byte header (modifier1, vars size, modifier2) and the vars block. */
  readonly packet: Buffer;
  /** A HEAD request: the response has no body whatever its head says. */
  readonly headRequest: boolean;
}

export type UwsgiBuildResult =
  | { readonly ok: true; readonly request: UwsgiRequest }
  | { readonly ok: false; readonly size: number; readonly largest: { readonly name: string; readonly size: number } };

export { UWSGI_MAX_VARS_SIZE };

/** Encodes the vars; a block over 65535 bytes is refused with its size and largest var, never thrown. */
export function uwsgiRequest(vars: readonly NameValue[], options: { modifier1?: number; modifier2?: number; method: string }): UwsgiBuildResult {
  const r = encodeUwsgiPacket(vars, { modifier1: options.modifier1, modifier2: options.modifier2 });
  if (!r.ok) return { ok: false, size: r.size, largest: r.largest };
  return { ok: true, request: { packet: r.packet, headRequest: options.method === 'HEAD' } };
}

export const uwsgiCodec: WireCodec<UwsgiRequest> = {
  begin(request, events, maxHeadBytes) {
    return new UwsgiSession(request, events, maxHeadBytes);
  },
};

const HTTP_PREFIX = Buffer.from('HTTP/', 'latin1');

const S_PROBE = 0;
const S_HEAD = 1;
const S_LENGTH = 2;
const S_CHUNKED = 3;
const S_CLOSE = 4;
const S_DONE = 5;

interface HeadFacts {
  status: number;
  reason: string;
  headers: HeaderField[];
  contentLength: number | null;
  chunked: boolean;
}

class UwsgiSession implements WireSession {
  readonly head: Buffer;
  readonly #events: WireEvents;
  readonly #maxHead: number;
  readonly #headRequest: boolean;
  #state = S_PROBE;
  #probe: Buffer = EMPTY;
  #push: ((chunk: Buffer) => HeadPushResult<HeadFacts>) | null = null;
  #remaining = 0;
  #chunked: ChunkedDecoder | null = null;

  constructor(request: UwsgiRequest, events: WireEvents, maxHead: number) {
    this.head = request.packet;
    this.#events = events;
    this.#maxHead = maxHead;
    this.#headRequest = request.headRequest;
  }

  frame(chunk: Buffer): Buffer {
    return chunk;
  }

  finish(): null {
    return null;
  }

  parse(chunk: Buffer): void {
    let data = chunk;
    if (this.#state === S_PROBE) {
      data = this.#probe.length === 0 ? chunk : Buffer.concat([this.#probe, chunk]);
      if (!this.#choose(data)) {
        this.#probe = data;
        return;
      }
      this.#probe = EMPTY;
    }
    if (this.#state === S_HEAD) {
      data = this.#parseHead(data);
      if (data.length === 0) return;
    }
    switch (this.#state) {
      case S_LENGTH: {
        const n = data.length;
        if (n < this.#remaining) {
          this.#remaining -= n;
          this.#events.data(data);
          return;
        }
        const last = n === this.#remaining ? data : data.subarray(0, this.#remaining);
        this.#remaining = 0;
        this.#state = S_DONE;
        this.#events.data(last);
        this.#events.end(false);
        return;
      }
      case S_CHUNKED:
        this.#chunked!.push(data);
        return;
      case S_CLOSE:
        this.#events.data(data);
        return;
    }
  }

  eof(): void {
    const state = this.#state;
    this.#state = S_DONE;
    if (state === S_CLOSE) this.#events.end(false);
    else if (state === S_PROBE || state === S_HEAD) this.#events.fail('reset-before-head', 'prematurely closed connection while reading response header');
    else if (state !== S_DONE) this.#events.fail('reset-mid-body', 'prematurely closed connection while reading upstream');
  }

  /** Picks the head parser once the first bytes tell a status line from a CGI head; false while undecided. */
  #choose(data: Buffer): boolean {
    const n = Math.min(data.length, HTTP_PREFIX.length);
    const prefix = data.subarray(0, n).equals(HTTP_PREFIX.subarray(0, n));
    if (prefix && n < HTTP_PREFIX.length) return false;
    const maxSize = this.#maxHead;
    if (prefix) {
      const parser = new Http1ResponseHeadParser({ maxSize });
      this.#push = (c) => parser.push(c);
    } else {
      const parser = new CgiResponseHeadParser({ maxSize });
      this.#push = (c) => {
        const r = parser.push(c);
        if (r.state !== 'done') return r;
        const h = r.head;
        const facts = framingOf(h.headers);
        if (typeof facts === 'string') return { state: 'error', error: new HeadError('invalid-header', facts, 0) };
        return { state: 'done', head: { status: h.status, reason: h.reason, headers: h.headers, ...facts }, bodyOffset: r.bodyOffset };
      };
    }
    this.#state = S_HEAD;
    return true;
  }

  #parseHead(chunk: Buffer): Buffer {
    let input = chunk;
    for (;;) {
      const r = this.#push!(input);
      if (r.state === 'more') return EMPTY;
      if (r.state === 'error') {
        this.#state = S_DONE;
        if (r.error.code === 'too-big-header') this.#events.fail('head-too-big', `sent too big header: ${r.error.message}`);
        else this.#events.fail('invalid-head', `sent invalid header: ${r.error.message}`);
        return EMPTY;
      }
      const head = r.head;
      const rest = r.bodyOffset === 0 ? input : input.subarray(r.bodyOffset);
      if (head.status < 200) {
        this.#state = S_PROBE;
        if (rest.length === 0) return EMPTY;
        if (!this.#choose(rest)) {
          this.#probe = rest;
          return EMPTY;
        }
        input = rest;
        continue;
      }
      return this.#startBody(head, rest);
    }
  }

  #startBody(head: HeadFacts, rest: Buffer): Buffer {
    const events = this.#events;
    const headers: HeaderList = [];
    for (const field of head.headers) {
      const name = field[0];
      if (name.length === 6 && name.toLowerCase() === 'status') continue;
      headers.push([name, field[1]]);
    }
    const framing =
      this.#headRequest || head.status === 204 || head.status === 304
        ? 'none'
        : head.chunked
          ? 'chunked'
          : head.contentLength !== null
            ? 'length'
            : 'close';
    if (framing === 'none' || (framing === 'length' && head.contentLength === 0)) {
      this.#state = S_DONE;
      events.head(head.status, headers, head.reason);
      events.end(false);
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
          if (this.#state !== S_CHUNKED) return;
          this.#state = S_DONE;
          events.end(false);
        },
        error: (_code, message) => {
          if (this.#state !== S_CHUNKED) return;
          this.#state = S_DONE;
          events.fail('invalid-body', `sent invalid chunked response: ${message}`);
        },
      });
    } else {
      this.#state = S_CLOSE;
    }
    events.head(head.status, headers, head.reason);
    return this.#state === S_DONE ? EMPTY : rest;
  }
}

/** Content-Length and Transfer-Encoding of a CGI-style head, checked as the HTTP/1 parser checks them. */
function framingOf(headers: readonly HeaderField[]): { contentLength: number | null; chunked: boolean } | string {
  let contentLength: number | null = null;
  let chunked = false;
  for (const [name, value] of headers) {
    const lower = name.toLowerCase();
    if (lower === 'content-length') {
      if (contentLength !== null || !/^\d{1,15}$/.test(value.trim())) return `invalid Content-Length "${value}"`;
      contentLength = Number(value.trim());
    } else if (lower === 'transfer-encoding') {
      if (chunked || value.trim().toLowerCase() !== 'chunked') return `unsupported Transfer-Encoding "${value}"`;
      chunked = true;
    }
  }
  if (chunked && contentLength !== null) return 'both Content-Length and Transfer-Encoding';
  return { contentLength, chunked };
}

const EMPTY = Buffer.alloc(0);
