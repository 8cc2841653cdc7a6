// Response plan for a static file, as nginx's static handler plus its not_modified and range filters decide
// it: status, entity headers (Content-Type, Content-Length, Last-Modified, ETag, Accept-Ranges,
// Content-Range) and which bytes to send, including nginx's multipart/byteranges layout. Pure: no I/O, no
// response object; the pipeline adds its own headers and streams the body with streamFile.

import { randomInt } from 'node:crypto';
import { formatHttpTime, parseHttpTime } from './http-time.ts';
import { evaluatePreconditions, type IfModifiedSinceMode } from './preconditions.ts';
import { isBytesRange, parseRange, type ByteRange } from './range.ts';

export interface FileResponseOptions {
  /** `etag on|off`. */
  readonly etag: boolean;
  /** `if_modified_since off|exact|before`. */
  readonly ifModifiedSince: IfModifiedSinceMode;
  /** `max_ranges`; 0 disables byte ranges (and Accept-Ranges). Unlimited when absent. */
  readonly maxRanges?: number;
  /** Type chosen from `types`/`default_type`, without parameters. */
  readonly contentType: string;
  /** Charset the charset module appends ("utf-8"), if any. */
  readonly charset?: string;
  /** Multipart boundary override (tests); nginx-style 20-digit numbers otherwise. */
  readonly boundary?: string;
}

/** Request headers keyed by lowercase name, as node:http and node:http2 present them. */
export type RequestHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

/** What the plan needs from fs.Stats. */
export interface FileStatLike {
  readonly size: number;
  readonly mtimeMs: number;
}

export interface MultipartPart {
  /** Bytes before this part's data: CRLF "--boundary" CRLF, part headers, CRLF CRLF. */
  readonly header: string;
  readonly start: number;
  /** Inclusive. */
  readonly end: number;
}

export type FileBody =
  | { readonly kind: 'none' }
  /** File bytes start..end, inclusive. */
  | { readonly kind: 'range'; readonly start: number; readonly end: number }
  | {
      readonly kind: 'multipart';
      readonly boundary: string;
      readonly parts: readonly MultipartPart[];
      /** CRLF "--boundary--" CRLF. */
      readonly trailer: string;
    };

export type FileResponseStatus = 200 | 206 | 304 | 412 | 416;

export interface FileResponsePlan {
  readonly status: FileResponseStatus;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  /** What to send after the headers; always 'none' for HEAD and for 304/412/416. */
  readonly body: FileBody;
  /** Bytes the body would have for GET (0 for 304/412/416): equals Content-Length when there is one. */
  readonly contentLength: number;
  /**
   * 412 and 416: nginx finalizes these with its error page (or error_page), so the pipeline renders the body
   * and its Content-Type/Content-Length; `headers` then holds only what must survive (Content-Range on 416).
   */
  readonly errorPage: boolean;
}

const NO_BODY: FileBody = { kind: 'none' };
const CRLF = '\r\n';

/** nginx's ETag for a file: "<mtime hex>-<size hex>". */
export function fileEtag(mtimeSeconds: number, size: number): string {
  return `"${hex(mtimeSeconds)}-${hex(size)}"`;
}

function hex(n: number): string {
  return n >= 0 ? n.toString(16) : BigInt.asUintN(64, BigInt(n)).toString(16);
}

let boundaryCounter = randomInt(0, 2 ** 47);

/** A multipart boundary in nginx's format: a zero-padded 20-digit number. */
export function nextBoundary(): string {
  boundaryCounter += 1;
  return String(boundaryCounter).padStart(20, '0');
}

function header(headers: RequestHeaders, name: string): string | undefined {
  const value = headers[name];
  return typeof value === 'string' ? value : value?.[0];
}

/**
 * Plans the response to GET or HEAD for a regular file described by `stats`. The order of checks is nginx's:
 * If-Unmodified-Since and If-Match (412), If-Modified-Since and If-None-Match (304), then Range with If-Range
 * (206, 416, or 200 when the range is ignored).
 */
export function planFileResponse(
  method: 'GET' | 'HEAD',
  requestHeaders: RequestHeaders,
  stats: FileStatLike,
  options: FileResponseOptions,
): FileResponsePlan {
  const size = stats.size;
  const mtime = Math.floor(stats.mtimeMs / 1000);
  const lastModified = formatHttpTime(mtime);
  const etag = options.etag ? fileEtag(mtime, size) : undefined;
  const headOnly = method === 'HEAD';

  const outcome = evaluatePreconditions(
    {
      ifMatch: header(requestHeaders, 'if-match'),
      ifNoneMatch: header(requestHeaders, 'if-none-match'),
      ifModifiedSince: header(requestHeaders, 'if-modified-since'),
      ifUnmodifiedSince: header(requestHeaders, 'if-unmodified-since'),
    },
    mtime,
    etag,
    options.ifModifiedSince,
  );
  if (outcome === 'precondition_failed') {
    return { status: 412, headers: [], body: NO_BODY, contentLength: 0, errorPage: true };
  }
  if (outcome === 'not_modified') {
    const headers: Array<readonly [string, string]> = [['Last-Modified', lastModified]];
    if (etag !== undefined) headers.push(['ETag', etag]);
    return { status: 304, headers, body: NO_BODY, contentLength: 0, errorPage: false };
  }

  const contentType = options.charset ? `${options.contentType}; charset=${options.charset}` : options.contentType;
  const maxRanges = options.maxRanges ?? Infinity;
  const range = maxRanges === 0 ? undefined : header(requestHeaders, 'range');

  if (range !== undefined && isBytesRange(range) && ifRangeAllows(requestHeaders, etag, mtime)) {
    const parsed = parseRange(range, size, maxRanges);
    if (parsed.kind === 'unsatisfiable') {
      return {
        status: 416,
        headers: [['Content-Range', `bytes */${size}`]],
        body: NO_BODY,
        contentLength: 0,
        errorPage: true,
      };
    }
    if (parsed.kind === 'ranges') {
      return parsed.ranges.length === 1
        ? singleRange(parsed.ranges[0]!, size, contentType, lastModified, etag, headOnly)
        : multipartRanges(parsed.ranges, size, contentType, lastModified, etag, headOnly, options.boundary);
    }
  }

  const headers: Array<readonly [string, string]> = [
    ['Content-Type', contentType],
    ['Content-Length', String(size)],
    ['Last-Modified', lastModified],
  ];
  if (etag !== undefined) headers.push(['ETag', etag]);
  if (maxRanges !== 0) headers.push(['Accept-Ranges', 'bytes']);
  const body: FileBody = headOnly || size === 0 ? NO_BODY : { kind: 'range', start: 0, end: size - 1 };
  return { status: 200, headers, body, contentLength: size, errorPage: false };
}

/** If-Range: a value ending in '"' must equal the ETag byte for byte; otherwise it must be the exact mtime. */
function ifRangeAllows(requestHeaders: RequestHeaders, etag: string | undefined, mtime: number): boolean {
  const ifRange = header(requestHeaders, 'if-range');
  if (ifRange === undefined) return true;
  if (ifRange.length >= 2 && ifRange.endsWith('"')) return etag !== undefined && ifRange === etag;
  return parseHttpTime(ifRange) === mtime;
}

function singleRange(
  range: ByteRange,
  size: number,
  contentType: string,
  lastModified: string,
  etag: string | undefined,
  headOnly: boolean,
): FileResponsePlan {
  const length = range.end - range.start + 1;
  const headers: Array<readonly [string, string]> = [
    ['Content-Type', contentType],
    ['Content-Length', String(length)],
    ['Last-Modified', lastModified],
  ];
  if (etag !== undefined) headers.push(['ETag', etag]);
  headers.push(['Content-Range', `bytes ${range.start}-${range.end}/${size}`]);
  const body: FileBody = headOnly ? NO_BODY : { kind: 'range', start: range.start, end: range.end };
  return { status: 206, headers, body, contentLength: length, errorPage: false };
}

function multipartRanges(
  ranges: readonly ByteRange[],
  size: number,
  contentType: string,
  lastModified: string,
  etag: string | undefined,
  headOnly: boolean,
  boundaryOverride: string | undefined,
): FileResponsePlan {
  const boundary = boundaryOverride ?? nextBoundary();
  const partPrefix =
    CRLF + '--' + boundary + CRLF + (contentType ? 'Content-Type: ' + contentType + CRLF : '') + 'Content-Range: bytes ';
  const parts: MultipartPart[] = [];
  let length = 0;
  for (const range of ranges) {
    const partHeader = `${partPrefix}${range.start}-${range.end}/${size}${CRLF}${CRLF}`;
    parts.push({ header: partHeader, start: range.start, end: range.end });
    length += partHeader.length + (range.end - range.start + 1);
  }
  const trailer = CRLF + '--' + boundary + '--' + CRLF;
  length += trailer.length;

  const headers: Array<readonly [string, string]> = [
    ['Content-Type', `multipart/byteranges; boundary=${boundary}`],
    ['Content-Length', String(length)],
    ['Last-Modified', lastModified],
  ];
  if (etag !== undefined) headers.push(['ETag', etag]);
  const body: FileBody = headOnly ? NO_BODY : { kind: 'multipart', boundary, parts, trailer };
  return { status: 206, headers, body, contentLength: length, errorPage: false };
}

/** The bytes a plan's body sends when the whole file is in memory: a slice, or the multipart layout around slices. */
export function fileBodyBytes(body: FileBody, file: Buffer): Buffer {
  switch (body.kind) {
    case 'none':
      return Buffer.alloc(0);
    case 'range':
      return file.subarray(body.start, body.end + 1);
    case 'multipart': {
      const pieces: Buffer[] = [];
      for (const part of body.parts) pieces.push(Buffer.from(part.header, 'latin1'), file.subarray(part.start, part.end + 1));
      pieces.push(Buffer.from(body.trailer, 'latin1'));
      return Buffer.concat(pieces);
    }
  }
}
