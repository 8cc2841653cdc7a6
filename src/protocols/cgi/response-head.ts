// Incremental parser for the CGI response head a FastCGI application writes on STDOUT.
// Not the FastCGI record decoder (it reads the STDOUT bytes that decoder emits) and not header filtering:
// every line comes back, `Status` included, for the caller to hide as nginx's fastcgi_hide_header does.
//
// What nginx does, read from ngx_http_fastcgi_process_header and ngx_http_upstream_process_headers:
// - A `Status` header sets the status from its first three digits (anything else there is an invalid
//   header, 502); the rest of the value is kept as the reason phrase.
// - Without `Status`, a `Location` header gives 302 "Moved Temporarily", whatever the Location holds;
//   without either, 200 "OK". The first Status and the first Location count; nginx ignores later ones.
// - nginx never performs the RFC 3875 "local redirect" (Location holding an absolute path, no Status):
//   it answers 302 and the Location goes out as is (or made absolute by absolute_redirect). Internal
//   redirects happen only for X-Accel-Redirect. So `status` here is always what nginx would send, and
//   `localRedirect` is only a fact for callers that choose to act on it: true when there is no Status
//   and the Location starts with a single `/`.
// - Header lines may end in CRLF or a bare LF, mixed freely; the head ends at the first empty line.

import { DEFAULT_MAX_HEAD_SIZE, HeadError, MORE } from '../http1/head-error.ts';
import type { HeadParserOptions, HeadPushResult } from '../http1/head-error.ts';
import { HEAD_MORE, HEAD_TOO_BIG, HeadBuffer } from '../http1/head-buffer.ts';
import { parseFieldLines } from '../http1/header-lines.ts';
import type { HeaderField } from '../http1/header-lines.ts';

export interface CgiResponseHead {
  status: number;
  reason: string;
  /** All header lines in order, duplicates kept, `Status` included. */
  headers: HeaderField[];
  /** The first Location value, or null. */
  location: string | null;
  /** RFC 3875 local redirect: no Status and a Location that is an absolute path. */
  localRedirect: boolean;
  /** Whether a Status header set the status. */
  hasStatus: boolean;
}

export class CgiResponseHeadParser {
  #buffer: HeadBuffer | null;
  readonly #maxSize: number;
  #result: HeadPushResult<CgiResponseHead> | null = null;

  constructor(options: HeadParserOptions = {}) {
    this.#maxSize = options.maxSize ?? DEFAULT_MAX_HEAD_SIZE;
    this.#buffer = new HeadBuffer(this.#maxSize);
  }

  /**
   * Feeds the next STDOUT bytes. On `done`, `chunk.subarray(bodyOffset)` is the start of the body.
   * After `done` every further chunk is all body (bodyOffset 0); after `error` the error repeats.
   */
  push(chunk: Buffer): HeadPushResult<CgiResponseHead> {
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
    const head = buffer.head;
    const headers: HeaderField[] = [];
    const error = parseFieldLines(head, 0, headers);
    if (error !== null) return this.#settle(error);
    return this.#settle(interpret(headers, head.length), offset);
  }

  #settle(outcome: CgiResponseHead | HeadError, bodyOffset = 0): HeadPushResult<CgiResponseHead> {
    this.#result =
      outcome instanceof HeadError ? { state: 'error', error: outcome } : { state: 'done', head: outcome, bodyOffset };
    return this.#result;
  }
}

function interpret(headers: HeaderField[], size: number): CgiResponseHead | HeadError {
  let statusValue: string | null = null;
  let location: string | null = null;
  for (let i = 0; i < headers.length; i++) {
    const name = headers[i]![0];
    if (name.length === 6 && statusValue === null && name.toLowerCase() === 'status') statusValue = headers[i]![1];
    else if (name.length === 8 && location === null && name.toLowerCase() === 'location') location = headers[i]![1];
  }
  if (statusValue !== null) {
    const status = parseStatus(statusValue);
    if (status < 0) return new HeadError('invalid-status', `invalid Status header "${statusValue}"`, size);
    const reason = statusValue.slice(3).trimStart();
    return { status, reason, headers, location, localRedirect: false, hasStatus: true };
  }
  if (location !== null) {
    const localRedirect = location.charCodeAt(0) === 47 && location.charCodeAt(1) !== 47;
    return { status: 302, reason: 'Moved Temporarily', headers, location, localRedirect, hasStatus: false };
  }
  return { status: 200, reason: 'OK', headers, location: null, localRedirect: false, hasStatus: false };
}

/** Three digits, 100-999, then the end or whitespace; -1 otherwise. */
function parseStatus(value: string): number {
  if (value.length < 3) return -1;
  let status = 0;
  for (let i = 0; i < 3; i++) {
    const d = value.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    status = status * 10 + d;
  }
  if (status < 100) return -1;
  if (value.length > 3) {
    const c = value.charCodeAt(3);
    if (c !== 32 && c !== 9) return -1;
  }
  return status;
}

