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

import { HeadError } from '../http1/head-error.ts';
import type { HeadParserOptions } from '../http1/head-error.ts';
import { HeadParser } from '../http1/head-parser.ts';
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

export class CgiResponseHeadParser extends HeadParser<CgiResponseHead> {
  constructor(options: HeadParserOptions = {}) {
    super(options, parseCgiHead);
  }
}

function parseCgiHead(head: Buffer): CgiResponseHead | HeadError {
  const headers: HeaderField[] = [];
  const error = parseFieldLines(head, 0, headers);
  if (error !== null) return error;
  return interpret(headers, head.length);
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

