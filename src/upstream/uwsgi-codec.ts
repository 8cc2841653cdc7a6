// uwsgi as a wire codec (nginx's ngx_http_uwsgi_module on the wire): the vars packet as the head, the body raw
// after it, the response read as HTTP/1 (status line, headers, then Content-Length, chunked or until close), or as
// a CGI head when it does not start with a status line, as nginx falls back. uWSGI closes the connection after
// every response, so an exchange never leaves it reusable.
// Not the vars policy (which variables are sent): the pipeline builds the list and answers 414/431 when too big.

import { encodeUwsgiPacket, UWSGI_MAX_VARS_SIZE } from '../protocols/uwsgi/packet.ts';
import type { NameValue } from '../protocols/name-value-input.ts';
import { Http1ResponseHeadParser, bodyFraming } from '../protocols/http1/response-head.ts';
import { CgiResponseHeadParser } from '../protocols/cgi/response-head.ts';
import { HeadError, type HeadPushResult } from '../protocols/http1/head-error.ts';
import type { HeaderField } from '../protocols/http1/header-lines.ts';
import type { WireCodec, WireEvents, WireSession } from './codec.ts';
import { Http1Response } from './http1-response.ts';
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
  readonly #response: Http1Response;
  /** The next bytes start a head whose kind (status line or CGI) is not known yet. */
  #probing = true;
  #probe: Buffer = EMPTY;
  #push: ((chunk: Buffer) => HeadPushResult<HeadFacts>) | null = null;

  constructor(request: UwsgiRequest, events: WireEvents, maxHead: number) {
    this.head = request.packet;
    this.#events = events;
    this.#maxHead = maxHead;
    this.#headRequest = request.headRequest;
    this.#response = new Http1Response(events, (chunk) => this.#readHead(chunk));
  }

  frame(chunk: Buffer): Buffer {
    return chunk;
  }

  finish(): null {
    return null;
  }

  parse(chunk: Buffer): void {
    this.#response.parse(chunk);
  }

  eof(): void {
    this.#response.eof();
  }

  #readHead(chunk: Buffer): Buffer {
    let data = chunk;
    if (this.#probing) {
      data = this.#probe.length === 0 ? chunk : Buffer.concat([this.#probe, chunk]);
      if (!this.#choose(data)) {
        this.#probe = data;
        return EMPTY;
      }
      this.#probe = EMPTY;
    }
    return this.#parseHead(data);
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
    this.#probing = false;
    return true;
  }

  #parseHead(chunk: Buffer): Buffer {
    let input = chunk;
    for (;;) {
      const r = this.#push!(input);
      if (r.state === 'more') return EMPTY;
      if (r.state === 'error') {
        this.#response.stop();
        if (r.error.code === 'too-big-header') this.#events.fail('head-too-big', `sent too big header: ${r.error.message}`);
        else this.#events.fail('invalid-head', `sent invalid header: ${r.error.message}`);
        return EMPTY;
      }
      const head = r.head;
      const rest = r.bodyOffset === 0 ? input : input.subarray(r.bodyOffset);
      if (head.status < 200) {
        this.#probing = true;
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
    const headers: HeaderList = [];
    for (const field of head.headers) {
      const name = field[0];
      if (name.length === 6 && name.toLowerCase() === 'status') continue;
      headers.push([name, field[1]]);
    }
    return this.#response.startBody(head.status, headers, head.reason, bodyFraming(head, this.#headRequest), head.contentLength, false, rest);
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
