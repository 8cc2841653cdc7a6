// The pieces of the response header filter that are plain functions over a lower-case header record: appending a
// header nginx-style (a repeated name becomes a list), `expires` (Expires and Cache-Control), the gzip filter's header
// changes and its $gzip_ratio text. Not the order they run in (the session's headersOut and sendHead).

import type { LocationPlan } from './plan.ts';
import { weakEtag } from './gzip/decide.ts';

export type HeaderRecord = Record<string, string | string[]>;

export function addHeader(out: HeaderRecord, name: string, v: string): void {
  const prev = out[name];
  if (prev === undefined) out[name] = v;
  else if (Array.isArray(prev)) prev.push(v);
  else out[name] = [prev, v];
}

/** nginx's gzip header filter: Content-Encoding set, Content-Length and Accept-Ranges cleared, ETag made weak. */
export function applyGzipHeaders(out: HeaderRecord): void {
  out['content-encoding'] = 'gzip';
  delete out['content-length'];
  delete out['accept-ranges'];
  const etag = out['etag'];
  if (etag === undefined) return;
  const weak = weakEtag(Array.isArray(etag) ? etag[0] : etag);
  if (weak === undefined) delete out['etag'];
  else out['etag'] = weak;
}

/** nginx's "%ui.%02ui" of original / compressed size, rounded at the third decimal. */
export function gzipRatio(bytesIn: number, bytesOut: number): string {
  if (bytesOut === 0) return '';
  let whole = Math.floor(bytesIn / bytesOut);
  let frac = Math.floor((bytesIn * 100) / bytesOut) % 100;
  if (Math.floor((bytesIn * 1000) / bytesOut) % 10 > 4) {
    frac++;
    if (frac > 99) {
      whole++;
      frac = 0;
    }
  }
  return `${whole}.${String(frac).padStart(2, '0')}`;
}

export function applyExpires(out: HeaderRecord, e: NonNullable<LocationPlan['expires']>): void {
  if (e.kind === 'off') return;
  const now = Date.now();
  if (e.kind === 'epoch') {
    out['expires'] = 'Thu, 01 Jan 1970 00:00:01 GMT';
    out['cache-control'] = 'no-cache';
    return;
  }
  if (e.kind === 'max') {
    out['expires'] = 'Thu, 31 Dec 2037 23:55:55 GMT';
    out['cache-control'] = 'max-age=315360000';
    return;
  }
  let at: number;
  if (e.kind === 'daily') {
    const d = new Date(now);
    d.setHours(0, 0, 0, 0);
    at = d.getTime() + e.ms;
    if (at <= now) at += 86_400_000;
  } else {
    const base = e.modified && typeof out['last-modified'] === 'string' ? Date.parse(out['last-modified']) : now;
    at = base + e.ms;
  }
  out['expires'] = new Date(at).toUTCString();
  const maxAge = Math.floor((at - now) / 1000);
  out['cache-control'] = maxAge <= 0 ? 'no-cache' : `max-age=${maxAge}`;
}
