// Conditional request evaluation of nginx's not_modified filter: If-Unmodified-Since and If-Match (412), then
// If-Modified-Since (off/exact/before) and If-None-Match (304), with nginx's ETag list matching. Not ranges.

import { parseHttpTime } from './http-time.ts';

export type IfModifiedSinceMode = 'off' | 'exact' | 'before';

export interface ConditionalHeaders {
  readonly ifMatch?: string | undefined;
  readonly ifNoneMatch?: string | undefined;
  readonly ifModifiedSince?: string | undefined;
  readonly ifUnmodifiedSince?: string | undefined;
}

export type PreconditionOutcome = 'proceed' | 'not_modified' | 'precondition_failed';

/**
 * Outcome for a 200 response with `lastModified` (seconds) and `etag` (undefined when `etag off`).
 * A header that is present but empty counts as present, as in nginx.
 */
export function evaluatePreconditions(
  headers: ConditionalHeaders,
  lastModified: number,
  etag: string | undefined,
  ifModifiedSince: IfModifiedSinceMode,
): PreconditionOutcome {
  if (headers.ifUnmodifiedSince !== undefined && parseHttpTime(headers.ifUnmodifiedSince) < lastModified) {
    return 'precondition_failed';
  }
  if (headers.ifMatch !== undefined && !etagListMatches(headers.ifMatch, etag, false)) {
    return 'precondition_failed';
  }
  if (headers.ifModifiedSince === undefined && headers.ifNoneMatch === undefined) return 'proceed';
  if (headers.ifModifiedSince !== undefined && modifiedSince(headers.ifModifiedSince, lastModified, ifModifiedSince)) {
    return 'proceed';
  }
  if (headers.ifNoneMatch !== undefined && !etagListMatches(headers.ifNoneMatch, etag, true)) return 'proceed';
  return 'not_modified';
}

function modifiedSince(value: string, lastModified: number, mode: IfModifiedSinceMode): boolean {
  if (mode === 'off') return true;
  const ims = parseHttpTime(value);
  if (ims === lastModified) return false;
  return mode === 'exact' || ims < lastModified;
}

/**
 * nginx's If-Match / If-None-Match test: "*" alone matches anything; otherwise each comma-separated member is
 * compared byte-wise with `etag`. With `weak` (If-None-Match) a "W/" prefix is ignored on both sides.
 */
export function etagListMatches(list: string, etag: string | undefined, weak: boolean): boolean {
  if (list === '*') return true;
  if (etag === undefined) return false;
  if (weak && etag.length > 2 && etag.startsWith('W/')) etag = etag.slice(2);

  const end = list.length;
  let start = 0;
  while (start < end) {
    if (weak && end - start > 2 && list.charCodeAt(start) === 0x57 /* W */ && list.charCodeAt(start + 1) === 0x2f) {
      start += 2;
    }
    if (etag.length > end - start) return false;
    if (list.startsWith(etag, start)) {
      let p = start + etag.length;
      while (p < end && isBlank(list.charCodeAt(p))) p++;
      if (p === end || list.charCodeAt(p) === 0x2c /* , */) return true;
      start = p;
    }
    while (start < end && list.charCodeAt(start) !== 0x2c) start++;
    while (start < end && (isBlank(list.charCodeAt(start)) || list.charCodeAt(start) === 0x2c)) start++;
  }
  return false;
}

function isBlank(c: number): boolean {
  return c === 0x20 || c === 0x09;
}
