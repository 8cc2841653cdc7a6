// Tokenizes the field lines of a complete response head (HTTP/1.x or CGI): `name: value` pairs in order.
// Not a head collector (head-buffer.ts) and not a semantics layer: names keep their case, duplicates stay.
//
// Lines end in CRLF or a bare LF. Rejected: a CR not followed by LF, a line starting with SP/HTAB
// (obs-fold), a name that is empty or holds a non-token byte (whitespace before the colon included),
// a line without a colon, a NUL anywhere. Values lose leading and trailing SP/HTAB and are decoded as
// latin1, which keeps every byte; write them back with the latin1 encoding.

import { HeadError } from './head-error.ts';

export type HeaderField = [name: string, value: string];

const TOKEN = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TOKEN[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TOKEN[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TOKEN[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TOKEN[c] = 1;

export function isTokenByte(c: number): boolean {
  return TOKEN[c] === 1;
}

export const LINE_BARE_CR = -1;
export const LINE_NUL = -2;

/**
 * Returns the end of the line starting at `start` (the index of its CR or LF), LINE_BARE_CR or
 * LINE_NUL. `head` must end with LF.
 */
export function lineEnd(head: Buffer, start: number): number {
  for (let i = start; ; i++) {
    const c = head[i]!;
    if (c === 10) return i;
    if (c === 13) return head[i + 1] === 10 ? i : LINE_BARE_CR;
    if (c === 0) return LINE_NUL;
  }
}

/** Offset of the next line after the line ending at `end` (as returned by lineEnd). */
export function nextLine(head: Buffer, end: number): number {
  return head[end] === 13 ? end + 2 : end + 1;
}

/**
 * Parses field lines from `start` up to and including the empty line that ends the head, appending
 * them to `out`. Returns null, or the error for the first bad line.
 */
export function parseFieldLines(head: Buffer, start: number, out: HeaderField[]): HeadError | null {
  const size = head.length;
  let pos = start;
  for (let line = 1; ; line++) {
    let c = head[pos]!;
    if (c === 10) return null;
    if (c === 13) {
      return head[pos + 1] === 10 ? null : new HeadError('bare-cr', `bare CR in header line ${line}`, size);
    }
    if (c === 32 || c === 9) {
      return new HeadError('header-folding', `header line ${line} is folded (starts with whitespace)`, size);
    }
    const nameStart = pos;
    while (TOKEN[c] === 1) c = head[++pos]!;
    if (c !== 58) {
      if (c === 10 || c === 13) return new HeadError('invalid-header', `header line ${line} has no colon`, size);
      return new HeadError('invalid-header-name', `invalid byte 0x${c.toString(16)} in header name, line ${line}`, size);
    }
    if (pos === nameStart) return new HeadError('invalid-header-name', `empty header name, line ${line}`, size);
    const nameEnd = pos;
    c = head[++pos]!;
    while (c === 32 || c === 9) c = head[++pos]!;
    const valueStart = pos;
    let valueEnd = pos;
    for (;;) {
      if (c === 10) break;
      if (c === 13) {
        if (head[pos + 1] !== 10) return new HeadError('bare-cr', `bare CR in header line ${line}`, size);
        pos++;
        break;
      }
      if (c === 0) return new HeadError('invalid-header', `NUL in header line ${line}`, size);
      if (c !== 32 && c !== 9) valueEnd = pos + 1;
      c = head[++pos]!;
    }
    pos++;
    out.push([head.toString('latin1', nameStart, nameEnd), head.toString('latin1', valueStart, valueEnd)]);
  }
}
