// Incremental parser for an HTTP/1.0 or HTTP/1.1 response head (uwsgi peers answer in raw HTTP).
// Not a body reader: it reports the framing facts (Content-Length, chunked, Connection) and the offset
// where the body starts; chunked-decoder.ts reads chunked bodies.
//
// Follows nginx's upstream rules: a status line is `HTTP/1.0` or `HTTP/1.1`, one space, three digits
// (100-999), then an optional space and reason phrase; a duplicate Content-Length or Transfer-Encoding
// line, a Transfer-Encoding other than `chunked`, or both headers together is an invalid response.

import { HeadError } from './head-error.ts';
import type { HeadParserOptions } from './head-error.ts';
import { HeadParser } from './head-parser.ts';
import { LINE_BARE_CR, lineEnd, nextLine, parseFieldLines } from './header-lines.ts';
import type { HeaderField } from './header-lines.ts';

export interface Http1ResponseHead {
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  minorVersion: 0 | 1;
  status: number;
  reason: string;
  /** All header lines in order, duplicates kept. */
  headers: HeaderField[];
  /** The Content-Length value, or null when absent. */
  contentLength: number | null;
  /** Transfer-Encoding: chunked. */
  chunked: boolean;
  /** Connection header tokens, lower-cased. */
  connection: string[];
  /** Whether the peer lets the connection be reused (version default, then Connection tokens). */
  keepAlive: boolean;
}

export type BodyFraming = 'none' | 'chunked' | 'length' | 'close';

/** How the body that follows the head is delimited. */
export function bodyFraming(head: Pick<Http1ResponseHead, 'status' | 'chunked' | 'contentLength'>, requestMethodWasHead: boolean): BodyFraming {
  if (requestMethodWasHead || head.status < 200 || head.status === 204 || head.status === 304) return 'none';
  if (head.chunked) return 'chunked';
  if (head.contentLength !== null) return 'length';
  return 'close';
}

const HTTP_1_DOT = Buffer.from('HTTP/1.', 'latin1');

export class Http1ResponseHeadParser extends HeadParser<Http1ResponseHead> {
  constructor(options: HeadParserOptions = {}) {
    super(options, parseHead);
  }
}

function parseHead(head: Buffer): Http1ResponseHead | HeadError {
  const size = head.length;
  const end = lineEnd(head, 0);
  if (end === LINE_BARE_CR) return new HeadError('bare-cr', 'bare CR in status line', size);
  const invalid = (): HeadError =>
    new HeadError('invalid-status-line', `invalid status line "${head.toString('latin1', 0, Math.max(end, 0)).slice(0, 64)}"`, size);
  if (end < 12 || head.compare(HTTP_1_DOT, 0, 7, 0, 7) !== 0) return invalid();
  const minor = head[7]! - 48;
  if ((minor !== 0 && minor !== 1) || head[8] !== 32) return invalid();
  let status = 0;
  for (let i = 9; i < 12; i++) {
    const d = head[i]! - 48;
    if (d < 0 || d > 9) return invalid();
    status = status * 10 + d;
  }
  if (status < 100) return invalid();
  let reason = '';
  if (end > 12) {
    if (head[12] !== 32) return invalid();
    reason = head.toString('latin1', 13, end);
  }

  const headers: HeaderField[] = [];
  const error = parseFieldLines(head, nextLine(head, end), headers);
  if (error !== null) return error;

  let contentLength: number | null = null;
  let transferEncoding: string | null = null;
  const connection: string[] = [];
  for (let i = 0; i < headers.length; i++) {
    const [name, value] = headers[i]!;
    switch (name.length) {
      case 14:
        if (name.toLowerCase() !== 'content-length') break;
        if (contentLength !== null) return new HeadError('invalid-content-length', 'duplicate Content-Length', size);
        contentLength = parseContentLength(value);
        if (contentLength < 0) return new HeadError('invalid-content-length', `invalid Content-Length "${value}"`, size);
        break;
      case 17:
        if (name.toLowerCase() !== 'transfer-encoding') break;
        if (transferEncoding !== null) {
          return new HeadError('invalid-transfer-encoding', 'duplicate Transfer-Encoding', size);
        }
        transferEncoding = value;
        if (value.toLowerCase() !== 'chunked') {
          return new HeadError('invalid-transfer-encoding', `unsupported Transfer-Encoding "${value}"`, size);
        }
        break;
      case 10:
        if (name.toLowerCase() !== 'connection') break;
        for (const token of value.split(',')) {
          const t = token.trim().toLowerCase();
          if (t !== '') connection.push(t);
        }
        break;
    }
  }
  const chunked = transferEncoding !== null;
  if (chunked && contentLength !== null) {
    return new HeadError('conflicting-framing', 'both Content-Length and Transfer-Encoding', size);
  }
  const keepAlive = connection.includes('close')
    ? false
    : minor === 1 || connection.includes('keep-alive');
  return { minorVersion: minor, status, reason, headers, contentLength, chunked, connection, keepAlive };
}

/** Decimal digits only, at most 2^53-1; -1 otherwise. */
function parseContentLength(value: string): number {
  const n = value.length;
  if (n === 0 || n > 16) return -1;
  let length = 0;
  for (let i = 0; i < n; i++) {
    const d = value.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    length = length * 10 + d;
  }
  return length <= Number.MAX_SAFE_INTEGER ? length : -1;
}
