// Streaming decoder for the records a FastCGI application sends back: STDOUT, STDERR, END_REQUEST.
// Not a CGI head parser (cgi/response-head.ts reads the STDOUT bytes) and not socket handling.
//
// Fed chunks split anywhere; STDOUT and STDERR content comes out as zero-copy slices of the input, `end`
// fires once the END_REQUEST record and its padding are consumed (so a keep-alive connection is clean).
// Any protocol fault is reported once through `error`, after which input is ignored. It never throws
// itself; an exception thrown by a handler propagates to the caller of push(). Handlers must not call
// push() or finish() re-entrantly.

import { FCGI_HEADER_LENGTH, FCGI_VERSION, RecordType } from './record.ts';

export type FastCgiDecodeErrorCode =
  | 'fastcgi-bad-version'
  | 'fastcgi-unknown-record-type'
  | 'fastcgi-unexpected-record-type'
  | 'fastcgi-request-id-mismatch'
  | 'fastcgi-bad-end-request'
  | 'fastcgi-data-after-end'
  | 'fastcgi-truncated';

export interface FastCgiResponseHandlers {
  stdout(data: Buffer): void;
  stderr(data: Buffer): void;
  end(appStatus: number, protocolStatus: number): void;
  error(code: FastCgiDecodeErrorCode, message: string): void;
}

export interface FastCgiResponseDecoderOptions {
  /** The request id the records must carry; default 1. */
  requestId?: number;
}

const S_HEADER = 0;
const S_CONTENT = 1;
const S_PADDING = 2;
const S_ENDED = 3;
const S_FAILED = 4;

const END_BODY_LENGTH = 8;

export class FastCgiResponseDecoder {
  readonly #handlers: FastCgiResponseHandlers;
  #requestId: number;
  #state = S_HEADER;
  readonly #header = Buffer.alloc(FCGI_HEADER_LENGTH);
  #headerFilled = 0;
  #type = 0;
  #contentLeft = 0;
  #paddingLeft = 0;
  readonly #endBody = Buffer.alloc(END_BODY_LENGTH);
  #endFilled = 0;
  #stdoutEnded = false;

  constructor(handlers: FastCgiResponseHandlers, options: FastCgiResponseDecoderOptions = {}) {
    this.#handlers = handlers;
    this.#requestId = options.requestId ?? 1;
  }

  /** True once END_REQUEST has been fully read. */
  get ended(): boolean {
    return this.#state === S_ENDED;
  }

  get failed(): boolean {
    return this.#state === S_FAILED;
  }

  /** True once the empty STDOUT record arrived (nginx without keep-alive treats that as the end). */
  get stdoutEnded(): boolean {
    return this.#stdoutEnded;
  }

  /** Readies the decoder for the next request on a kept-alive connection. */
  reset(requestId = this.#requestId): void {
    this.#requestId = requestId;
    this.#state = S_HEADER;
    this.#headerFilled = 0;
    this.#type = 0;
    this.#contentLeft = 0;
    this.#paddingLeft = 0;
    this.#endFilled = 0;
    this.#stdoutEnded = false;
  }

  push(chunk: Buffer): void {
    const end = chunk.length;
    let pos = 0;
    while (pos < end) {
      switch (this.#state) {
        case S_HEADER: {
          const filled = this.#headerFilled;
          if (filled === 0 && end - pos >= FCGI_HEADER_LENGTH) {
            const at = pos;
            pos += FCGI_HEADER_LENGTH;
            if (!this.#startRecord(chunk, at)) return;
            break;
          }
          const take = Math.min(FCGI_HEADER_LENGTH - filled, end - pos);
          chunk.copy(this.#header, filled, pos, pos + take);
          pos += take;
          this.#headerFilled = filled + take;
          if (!this.#checkHeader(this.#header, 0, filled + take)) return;
          if (filled + take < FCGI_HEADER_LENGTH) return;
          this.#headerFilled = 0;
          if (!this.#startRecord(this.#header, 0)) return;
          break;
        }
        case S_CONTENT: {
          const take = Math.min(this.#contentLeft, end - pos);
          const at = pos;
          pos += take;
          this.#contentLeft -= take;
          const type = this.#type;
          if (type === RecordType.END_REQUEST) {
            const copy = Math.min(take, END_BODY_LENGTH - this.#endFilled);
            if (copy > 0) {
              chunk.copy(this.#endBody, this.#endFilled, at, at + copy);
              this.#endFilled += copy;
            }
            if (this.#contentLeft === 0) this.#afterContent();
            break;
          }
          if (this.#contentLeft === 0) this.#afterContent();
          if (type === RecordType.STDOUT) this.#handlers.stdout(chunk.subarray(at, pos));
          else this.#handlers.stderr(chunk.subarray(at, pos));
          break;
        }
        case S_PADDING: {
          const take = Math.min(this.#paddingLeft, end - pos);
          pos += take;
          this.#paddingLeft -= take;
          if (this.#paddingLeft === 0) this.#recordDone();
          break;
        }
        case S_ENDED:
          this.#fail('fastcgi-data-after-end', `${end - pos} byte(s) after END_REQUEST`);
          return;
        default:
          return;
      }
    }
  }

  /** Call at EOF: reports truncation unless END_REQUEST was read. */
  finish(): void {
    if (this.#state === S_ENDED || this.#state === S_FAILED) return;
    if (this.#state === S_HEADER && this.#headerFilled === 0) {
      const detail = this.#stdoutEnded ? 'after the end of stdout' : 'before the end of stdout';
      this.#fail('fastcgi-truncated', `connection closed without END_REQUEST, ${detail}`);
    } else {
      this.#fail('fastcgi-truncated', 'connection closed in the middle of a record');
    }
  }

  #checkHeader(h: Buffer, at: number, filled: number): boolean {
    if (h[at] !== FCGI_VERSION) {
      this.#fail('fastcgi-bad-version', `unsupported FastCGI protocol version ${h[at]}`);
      return false;
    }
    if (filled < 2) return true;
    const type = h[at + 1]!;
    if (type !== RecordType.STDOUT && type !== RecordType.STDERR && type !== RecordType.END_REQUEST) {
      if (type >= RecordType.BEGIN_REQUEST && type <= RecordType.UNKNOWN_TYPE) {
        this.#fail('fastcgi-unexpected-record-type', `unexpected FastCGI record type ${type}`);
      } else {
        this.#fail('fastcgi-unknown-record-type', `unknown FastCGI record type ${type}`);
      }
      return false;
    }
    if (filled < 4) return true;
    const requestId = (h[at + 2]! << 8) | h[at + 3]!;
    if (requestId !== this.#requestId) {
      this.#fail('fastcgi-request-id-mismatch', `record for request ${requestId}, expected ${this.#requestId}`);
      return false;
    }
    return true;
  }

  #startRecord(h: Buffer, at: number): boolean {
    if (!this.#checkHeader(h, at, FCGI_HEADER_LENGTH)) return false;
    const type = h[at + 1]!;
    const contentLength = (h[at + 4]! << 8) | h[at + 5]!;
    if (type === RecordType.END_REQUEST && contentLength < END_BODY_LENGTH) {
      this.#fail('fastcgi-bad-end-request', `END_REQUEST body of ${contentLength} byte(s), expected 8`);
      return false;
    }
    this.#type = type;
    this.#contentLeft = contentLength;
    this.#paddingLeft = h[at + 6]!;
    this.#endFilled = 0;
    if (contentLength > 0) this.#state = S_CONTENT;
    else {
      if (type === RecordType.STDOUT) this.#stdoutEnded = true;
      this.#afterContent();
    }
    return true;
  }

  #afterContent(): void {
    if (this.#paddingLeft > 0) this.#state = S_PADDING;
    else this.#recordDone();
  }

  #recordDone(): void {
    if (this.#type !== RecordType.END_REQUEST) {
      this.#state = S_HEADER;
      return;
    }
    this.#state = S_ENDED;
    this.#handlers.end(this.#endBody.readUInt32BE(0), this.#endBody[4]!);
  }

  #fail(code: FastCgiDecodeErrorCode, message: string): void {
    this.#state = S_FAILED;
    this.#handlers.error(code, message);
  }
}
