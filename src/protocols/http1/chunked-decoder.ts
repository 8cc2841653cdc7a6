// Streaming decoder for an HTTP/1.1 chunked body: emits the chunk data as zero-copy slices, then end.
// Not a trailer parser: trailer fields are read past (size-capped) and dropped, as nginx drops them.
//
// Tolerates a bare LF where CRLF is due and whitespace before a chunk extension, as nginx does; chunk
// extensions are skipped. Faults are reported once through `error`, after which input is ignored. It
// never throws itself; a handler's exception propagates to the caller of push().

export type ChunkedDecodeErrorCode =
  | 'invalid-chunk-size'
  | 'chunk-size-overflow'
  | 'invalid-chunk-terminator'
  | 'bare-cr'
  | 'chunk-extension-too-long'
  | 'trailers-too-big'
  | 'truncated-chunked-body';

export interface ChunkedHandlers {
  data(slice: Buffer): void;
  end(): void;
  error(code: ChunkedDecodeErrorCode, message: string): void;
}

export interface ChunkedDecoderOptions {
  /** Longest chunk extension accepted on one size line; default 4096. */
  maxExtensionLength?: number;
  /** Largest trailer section accepted; default 8192. */
  maxTrailerSize?: number;
}

const S_SIZE_START = 0;
const S_SIZE = 1;
const S_SIZE_WS = 2;
const S_EXTENSION = 3;
const S_SIZE_LF = 4;
const S_DATA = 5;
const S_DATA_CR = 6;
const S_DATA_LF = 7;
const S_TRAILER_START = 8;
const S_TRAILER_LINE = 9;
const S_TRAILER_LINE_LF = 10;
const S_TRAILER_END_LF = 11;
const S_DONE = 12;
const S_FAILED = 13;

const HEX = new Int8Array(256).fill(-1);
for (let c = 0; c < 10; c++) HEX[0x30 + c] = c;
for (let c = 0; c < 6; c++) {
  HEX[0x41 + c] = 10 + c;
  HEX[0x61 + c] = 10 + c;
}

const SIZE_LIMIT = Math.floor(Number.MAX_SAFE_INTEGER / 16);

export class ChunkedDecoder {
  readonly #handlers: ChunkedHandlers;
  readonly #maxExtensionLength: number;
  readonly #maxTrailerSize: number;
  #state = S_SIZE_START;
  #size = 0;
  #extensionLength = 0;
  #trailerSize = 0;

  constructor(handlers: ChunkedHandlers, options: ChunkedDecoderOptions = {}) {
    this.#handlers = handlers;
    this.#maxExtensionLength = options.maxExtensionLength ?? 4096;
    this.#maxTrailerSize = options.maxTrailerSize ?? 8192;
  }

  get ended(): boolean {
    return this.#state === S_DONE;
  }

  get failed(): boolean {
    return this.#state === S_FAILED;
  }

  /**
   * Feeds body bytes; returns how many were consumed. That is less than `chunk.length` only when the
   * body ended inside this chunk (the rest is not part of it) or after an error.
   */
  push(chunk: Buffer): number {
    const end = chunk.length;
    let pos = 0;
    while (pos < end) {
      const state = this.#state;
      if (state === S_DATA) {
        const take = Math.min(this.#size, end - pos);
        const at = pos;
        pos += take;
        this.#size -= take;
        if (this.#size === 0) this.#state = S_DATA_CR;
        this.#handlers.data(chunk.subarray(at, pos));
        continue;
      }
      if (state === S_DONE || state === S_FAILED) return pos;
      const c = chunk[pos++]!;
      switch (state) {
        case S_SIZE_START: {
          const d = HEX[c]!;
          if (d < 0) return this.#fail(pos, 'invalid-chunk-size', `chunk size starts with byte 0x${c.toString(16)}`);
          this.#size = d;
          this.#state = S_SIZE;
          break;
        }
        case S_SIZE: {
          const d = HEX[c]!;
          if (d >= 0) {
            if (this.#size > SIZE_LIMIT) return this.#fail(pos, 'chunk-size-overflow', 'chunk size too large');
            this.#size = this.#size * 16 + d;
          } else this.#afterSizeByte(c, pos);
          break;
        }
        case S_SIZE_WS:
          if (c !== 32 && c !== 9) this.#afterSizeByte(c, pos);
          break;
        case S_EXTENSION:
          if (c === 13) this.#state = S_SIZE_LF;
          else if (c === 10) this.#sizeLineDone();
          else if (++this.#extensionLength > this.#maxExtensionLength) {
            return this.#fail(pos, 'chunk-extension-too-long', 'chunk extension too long');
          }
          break;
        case S_SIZE_LF:
          if (c !== 10) return this.#fail(pos, 'bare-cr', 'bare CR in chunk size line');
          this.#sizeLineDone();
          break;
        case S_DATA_CR:
          if (c === 13) this.#state = S_DATA_LF;
          else if (c === 10) this.#state = S_SIZE_START;
          else return this.#fail(pos, 'invalid-chunk-terminator', 'chunk data not followed by CRLF');
          break;
        case S_DATA_LF:
          if (c !== 10) return this.#fail(pos, 'invalid-chunk-terminator', 'chunk data not followed by CRLF');
          this.#state = S_SIZE_START;
          break;
        case S_TRAILER_START:
          if (c === 13) this.#state = S_TRAILER_END_LF;
          else if (c === 10) this.#finishBody();
          else {
            this.#state = S_TRAILER_LINE;
            if (this.#countTrailer() < 0) return pos;
          }
          break;
        case S_TRAILER_LINE:
          if (c === 10) this.#state = S_TRAILER_START;
          else if (c === 13) this.#state = S_TRAILER_LINE_LF;
          else if (this.#countTrailer() < 0) return pos;
          break;
        case S_TRAILER_LINE_LF:
          if (c !== 10) return this.#fail(pos, 'bare-cr', 'bare CR in trailer section');
          this.#state = S_TRAILER_START;
          break;
        case S_TRAILER_END_LF:
          if (c !== 10) return this.#fail(pos, 'bare-cr', 'bare CR at the end of the trailer section');
          this.#finishBody();
          break;
      }
    }
    return pos;
  }

  /** Call at EOF: reports truncation unless the last chunk and its trailer section were read. */
  finish(): void {
    if (this.#state === S_DONE || this.#state === S_FAILED) return;
    this.#fail(0, 'truncated-chunked-body', 'connection closed inside a chunked body');
  }

  #afterSizeByte(c: number, pos: number): void {
    if (c === 13) this.#state = S_SIZE_LF;
    else if (c === 10) this.#sizeLineDone();
    else if (c === 59) {
      this.#extensionLength = 0;
      this.#state = S_EXTENSION;
    } else if (c === 32 || c === 9) this.#state = S_SIZE_WS;
    else this.#fail(pos, 'invalid-chunk-size', `invalid byte 0x${c.toString(16)} in chunk size line`);
  }

  #sizeLineDone(): void {
    if (this.#size > 0) this.#state = S_DATA;
    else {
      this.#trailerSize = 0;
      this.#state = S_TRAILER_START;
    }
  }

  #countTrailer(): number {
    if (++this.#trailerSize <= this.#maxTrailerSize) return 0;
    this.#fail(0, 'trailers-too-big', `trailer section over ${this.#maxTrailerSize} bytes`);
    return -1;
  }

  #finishBody(): void {
    this.#state = S_DONE;
    this.#handlers.end();
  }

  #fail(pos: number, code: ChunkedDecodeErrorCode, message: string): number {
    this.#state = S_FAILED;
    this.#handlers.error(code, message);
    return pos;
  }
}
