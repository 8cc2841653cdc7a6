// The incremental part every response-head parser shares (CGI over FastCGI, HTTP/1.x): collect the head across
// chunks up to the size cap, then read it once with the parser's own function, and keep that outcome.
// Not the reading of the head itself: each parser passes the function that turns the head bytes into its result.

import { DEFAULT_MAX_HEAD_SIZE, HeadError, MORE } from './head-error.ts';
import type { HeadParserOptions, HeadPushResult } from './head-error.ts';
import { HEAD_MORE, HEAD_TOO_BIG, HeadBuffer } from './head-buffer.ts';

export class HeadParser<T> {
  #buffer: HeadBuffer | null;
  readonly #maxSize: number;
  readonly #parse: (head: Buffer) => T | HeadError;
  #result: HeadPushResult<T> | null = null;

  constructor(options: HeadParserOptions, parse: (head: Buffer) => T | HeadError) {
    this.#maxSize = options.maxSize ?? DEFAULT_MAX_HEAD_SIZE;
    this.#buffer = new HeadBuffer(this.#maxSize);
    this.#parse = parse;
  }

  /**
   * Feeds the next bytes. On `done`, `chunk.subarray(bodyOffset)` is the start of the body.
   * After `done` every further chunk is all body (bodyOffset 0); after `error` the error repeats.
   */
  push(chunk: Buffer): HeadPushResult<T> {
    const previous = this.#result;
    if (previous !== null) {
      return previous.state === 'done' ? { state: 'done', head: previous.head, bodyOffset: 0 } : previous;
    }
    const buffer = this.#buffer!;
    const offset = buffer.push(chunk);
    if (offset === HEAD_MORE) return MORE;
    this.#buffer = null;
    if (offset === HEAD_TOO_BIG) {
      const size = buffer.size;
      return this.#settle(new HeadError('too-big-header', `response head over ${this.#maxSize} bytes (${size} seen)`, size));
    }
    return this.#settle(this.#parse(buffer.head), offset);
  }

  #settle(outcome: T | HeadError, bodyOffset = 0): HeadPushResult<T> {
    this.#result =
      outcome instanceof HeadError ? { state: 'error', error: outcome } : { state: 'done', head: outcome, bodyOffset };
    return this.#result;
  }
}
