// FastCGI as a wire codec (nginx's ngx_http_fastcgi_module on the wire): BEGIN_REQUEST and PARAMS in one head,
// the body as STDIN records (zero-copy slices), the empty STDIN at the end; the response read record by record,
// the CGI head parsed from STDOUT, STDERR handed to the request's hook, END_REQUEST ending the exchange.
// Not the parameter policy (which CGI variables are sent): the pipeline builds the list.

import type { NameValue } from '../protocols/name-value-input.ts';
import { encodeRequestHead } from '../protocols/fastcgi/request-head.ts';
import { encodeStdin, encodeStdinEnd } from '../protocols/fastcgi/stdin.ts';
import { FastCgiResponseDecoder } from '../protocols/fastcgi/response-decoder.ts';
import { ProtocolStatus } from '../protocols/fastcgi/record.ts';
import { CgiResponseHeadParser } from '../protocols/cgi/response-head.ts';
import type { WireCodec, WireEvents, WireSession } from './codec.ts';
import type { HeaderList } from './types.ts';

export interface FastCgiRequest {
  /** CGI variables in the order they go on the wire. */
  readonly params: readonly NameValue[];
  /** FCGI_KEEP_CONN: the application keeps the connection open after END_REQUEST, so it may be reused. */
  readonly keepConn: boolean;
  /** One STDERR record's text (trailing CR, LF, dots and spaces trimmed, as nginx logs it). */
  readonly onStderr?: (message: string) => void;
  /** fastcgi_catch_stderr: STDERR containing this before the response head makes the response invalid. */
  readonly catchStderr?: string;
}

export const fastcgiCodec: WireCodec<FastCgiRequest> = {
  begin(request, events, maxHeadBytes) {
    return new FastCgiSession(request, events, maxHeadBytes);
  },
};

const PROTOCOL_STATUS_NAMES = ['REQUEST_COMPLETE', 'CANT_MPX_CONN', 'OVERLOADED', 'UNKNOWN_ROLE'];

/** nginx's trim of a STDERR message: trailing LF, CR, '.' and ' '. */
export function trimStderr(text: string): string {
  let end = text.length;
  while (end > 0) {
    const c = text.charCodeAt(end - 1);
    if (c !== 10 && c !== 13 && c !== 46 && c !== 32) break;
    end--;
  }
  return end === text.length ? text : text.slice(0, end);
}

class FastCgiSession implements WireSession {
  readonly head: Buffer;
  readonly #events: WireEvents;
  readonly #request: FastCgiRequest;
  readonly #decoder: FastCgiResponseDecoder;
  #parser: CgiResponseHeadParser | null;
  #headSent = false;
  #received = 0;
  #ended = false;
  #appStatus = 0;
  #protocolStatus = 0;
  #done = false;

  constructor(request: FastCgiRequest, events: WireEvents, maxHead: number) {
    this.#events = events;
    this.#request = request;
    this.#parser = new CgiResponseHeadParser({ maxSize: maxHead });
    this.head = encodeRequestHead(request.params, { keepConn: request.keepConn });
    this.#decoder = new FastCgiResponseDecoder({
      stdout: (data) => this.#onStdout(data),
      stderr: (data) => this.#onStderr(data),
      end: (appStatus, protocolStatus) => {
        this.#ended = true;
        this.#appStatus = appStatus;
        this.#protocolStatus = protocolStatus;
      },
      error: (_code, message) => this.#onDecodeError(message),
    });
  }

  frame(chunk: Buffer): readonly Buffer[] {
    return encodeStdin(chunk);
  }

  finish(): Buffer {
    return encodeStdinEnd();
  }

  parse(chunk: Buffer): void {
    if (this.#done) return;
    this.#received += chunk.length;
    this.#decoder.push(chunk);
    if (this.#ended && !this.#done) this.#onEndRequest(!this.#decoder.failed);
  }

  eof(): void {
    if (this.#done) return;
    if (this.#headSent && this.#decoder.stdoutEnded && !this.#request.keepConn) {
      this.#done = true;
      this.#events.end(false);
      return;
    }
    this.#done = true;
    if (this.#headSent) this.#events.fail('reset-mid-body', 'prematurely closed connection while reading upstream');
    else this.#events.fail('reset-before-head', 'prematurely closed connection while reading response header');
  }

  #onStdout(data: Buffer): void {
    if (this.#done) return;
    if (this.#headSent) {
      this.#events.data(data);
      return;
    }
    const r = this.#parser!.push(data);
    if (r.state === 'more') return;
    this.#parser = null;
    if (r.state === 'error') {
      this.#done = true;
      if (r.error.code === 'too-big-header') this.#events.fail('head-too-big', `sent too big header: ${r.error.message}`);
      else this.#events.fail('invalid-head', `sent invalid header: ${r.error.message}`);
      return;
    }
    const head = r.head;
    const headers: HeaderList = [];
    for (const field of head.headers) {
      const name = field[0];
      if (name.length === 6 && name.toLowerCase() === 'status') continue;
      headers.push([name, field[1]]);
    }
    this.#headSent = true;
    this.#events.head(head.status, headers, head.reason);
    if (this.#done || r.bodyOffset >= data.length) return;
    this.#events.data(r.bodyOffset === 0 ? data : data.subarray(r.bodyOffset));
  }

  #onStderr(data: Buffer): void {
    if (this.#done) return;
    const message = trimStderr(data.toString('utf8'));
    const catchText = this.#request.catchStderr;
    if (message !== '') this.#request.onStderr?.(message);
    if (!this.#headSent && catchText !== undefined && catchText !== '' && message.includes(catchText)) {
      this.#done = true;
      this.#events.fail('invalid-head', `sent in stderr a message matching fastcgi_catch_stderr "${catchText}"`);
    }
  }

  #onDecodeError(message: string): void {
    if (this.#done) return;
    if (this.#ended) return;
    this.#done = true;
    this.#events.fail(this.#headSent ? 'invalid-body' : 'invalid-head', `sent invalid FastCGI records: ${message}`);
  }

  /** clean: END_REQUEST and its padding were the last bytes read. */
  #onEndRequest(clean: boolean): void {
    this.#done = true;
    if (!this.#headSent) {
      const why = this.#protocolStatus !== ProtocolStatus.REQUEST_COMPLETE
        ? `ended the request with ${PROTOCOL_STATUS_NAMES[this.#protocolStatus] ?? `protocol status ${this.#protocolStatus}`}`
        : this.#received > 0 && this.#decoder.stdoutEnded
          ? 'closed FastCGI stdout before the response header was complete'
          : 'sent END_REQUEST before the response header';
      this.#events.fail('invalid-head', `${why} (app status ${this.#appStatus})`);
      return;
    }
    const complete = this.#protocolStatus === ProtocolStatus.REQUEST_COMPLETE;
    this.#events.end(this.#request.keepConn && clean && complete);
  }
}
