// The request as a caching location sends it upstream, nginx's *_cache headers set: the client's conditional and
// range headers (If-Modified-Since, If-Unmodified-Since, If-None-Match, If-Match, Range, If-Range) are not passed,
// and a revalidation adds If-Modified-Since / If-None-Match from the stored entry. Protocol adapters build their
// request from a view of the session whose `req` shows these headers; everything else is the session itself.

import { formatHttpDate } from '../../cache/http-date.ts';
import type { DownstreamRequest } from '../../core/session.ts';
import type { RequestSession } from '../session.ts';

export interface Validators {
  /** '' when none. */
  readonly etag: string;
  /** ms since the epoch, -1 when none. */
  readonly lastModified: number;
}

const WITHHELD = new Set(['if-modified-since', 'if-unmodified-since', 'if-none-match', 'if-match', 'range', 'if-range']);

export function cacheRequestView(s: RequestSession, validators: Validators | undefined): RequestSession {
  const source = s.req.rawHeaders;
  const raw: string[] = [];
  for (let i = 0; i < source.length; i += 2) {
    if (WITHHELD.has(source[i].toLowerCase())) continue;
    raw.push(source[i], source[i + 1]);
  }
  if (validators && validators.lastModified >= 0) raw.push('If-Modified-Since', formatHttpDate(validators.lastModified));
  if (validators && validators.etag !== '') raw.push('If-None-Match', validators.etag);
  const req = requestWithHeaders(s.req, raw);
  return new Proxy(s, { get: (target, p, receiver) => (p === 'req' ? req : Reflect.get(target, p, receiver)) });
}

function requestWithHeaders(req: DownstreamRequest, raw: string[]): DownstreamRequest {
  const headers: Record<string, string | string[]> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    const value = raw[i + 1];
    const prev = headers[name];
    if (prev === undefined) headers[name] = name === 'set-cookie' ? [value] : value;
    else if (Array.isArray(prev)) prev.push(value);
    else headers[name] = `${prev}${name === 'cookie' ? '; ' : ', '}${value}`;
  }
  return new Proxy(req, {
    get(target, p) {
      if (p === 'rawHeaders') return raw;
      if (p === 'headers') return headers;
      const v: unknown = Reflect.get(target, p, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
