// Whether a response is compressed, as nginx decides it: the gzip filter's own conditions on the response (status
// 200/403/404, no Content-Encoding yet, Content-Length not below gzip_min_length, a gzip_types type; HEAD too, as
// nginx announces the encoding it would use), which also make it "vary", then ngx_http_gzip_ok on the request (Accept-Encoding with a non-zero gzip quality,
// gzip_disable msie6, gzip_http_version, gzip_proxied for requests with Via, gzip_disable's User-Agent regexes).
// Pure functions over header records; not the compression itself (filter.ts).

import { typesListed } from '../../config/helpers.ts';
import { parseHttpDate } from '../../cache/http-date.ts';
import type { GzipPlan } from './directives.ts';

export type HeaderRecord = Record<string, string | string[] | undefined>;

export interface GzipRequest {
  /** 10 for HTTP/1.0, 11 for HTTP/1.1, 20 for HTTP/2. */
  readonly version: number;
  readonly headers: HeaderRecord;
}

export interface GzipDecision {
  /** The response is of a kind gzip applies to: gzip_vary adds `Vary: Accept-Encoding`. */
  readonly vary: boolean;
  readonly compress: boolean;
}

const NONE: GzipDecision = { vary: false, compress: false };

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function joined(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v;
}

/** The response side (nginx's gzip header filter): status, encoding, length, type, method. */
function responseQualifies(plan: GzipPlan, status: number, out: HeaderRecord): boolean {
  if (status !== 200 && status !== 403 && status !== 404) return false;
  const ce = first(out['content-encoding']);
  if (ce !== undefined && ce !== '') return false;
  const cl = first(out['content-length']);
  if (cl !== undefined && cl !== '' && Number(cl) < plan.minLength) return false;
  return typesListed(plan.types, first(out['content-type']));
}

/**
 * ngx_http_gzip_quantity: 0 for a zero or invalid quality. nginx adds the fraction's digits up one by one (so
 * "0.5" and "0.005" are both non-zero and "1.5" is invalid); kept so both servers answer alike.
 */
function quantity(s: string): number {
  const c0 = s[0];
  if (c0 !== '0' && c0 !== '1') return 0;
  let q = (c0.charCodeAt(0) - 48) * 100;
  if (s.length === 1) return q;
  const c1 = s[1];
  if (c1 === ',' || c1 === ' ') return q;
  if (c1 !== '.') return 0;
  let n = 0;
  for (let i = 2; i < s.length; i++) {
    const c = s[i];
    if (c === ',' || c === ' ') break;
    if (c < '0' || c > '9') return 0;
    q += c.charCodeAt(0) - 48;
    n++;
  }
  return q > 100 || n > 3 ? 0 : q;
}

/** ngx_http_gzip_accept_encoding: a "gzip" token (at the start or after ',' or ' ') whose quality is not zero. */
export function acceptsGzip(ae: string | undefined): boolean {
  if (ae === undefined || ae.length < 4) return false;
  if (ae.startsWith('gzip,')) return true;
  const lower = ae.toLowerCase();
  let from = 0;
  let p: number;
  for (;;) {
    p = lower.indexOf('gzip', from);
    if (p < 0) return false;
    if (p === 0 || ae[p - 1] === ',' || ae[p - 1] === ' ') break;
    from = p + 4;
  }
  let i = p + 4;
  for (; i < ae.length; i++) {
    const c = ae[i];
    if (c === ',') return true;
    if (c === ';') break;
    if (c !== ' ') return false;
  }
  if (i >= ae.length) return true;
  for (i++; i < ae.length; i++) {
    const c = ae[i];
    if (c === 'q' || c === 'Q') break;
    if (c !== ' ') return false;
  }
  if (i >= ae.length) return true;
  i++;
  if (i + 2 > ae.length || ae[i] !== '=') return false;
  return quantity(ae.slice(i + 1)) !== 0;
}

/** nginx's msie6 flag: "MSIE 4." / "MSIE 5.", or "MSIE 6." without a later "SV1"; never for Opera. */
export function isMsie6(ua: string): boolean {
  const at = ua.indexOf('MSIE ');
  if (ua.includes('Opera')) return false;
  if (at < 0 || at + 7 >= ua.length || ua[at + 6] !== '.') return false;
  const major = ua[at + 5];
  if (major === '4' || major === '5') return true;
  return major === '6' && !ua.includes('SV1', at + 8);
}

function hasToken(value: string | undefined, token: string): boolean {
  if (value === undefined) return false;
  for (const part of value.split(',')) if (part.trim().toLowerCase().split('=')[0] === token) return true;
  return false;
}

/** gzip_proxied for a request that came through a proxy (Via): what the response's headers allow. */
function proxiedAllows(plan: GzipPlan, req: GzipRequest, out: HeaderRecord): boolean {
  const p = plan.proxied;
  if (p === 'off') return false;
  if (p.has('any')) return true;
  if (p.has('auth') && req.headers['authorization'] !== undefined) return true;
  const expires = first(out['expires']);
  if (expires !== undefined) {
    if (!p.has('expired')) return false;
    const at = parseHttpDate(expires);
    if (at === null) return false;
    const dateHeader = first(out['date']);
    const date = dateHeader === undefined ? Math.floor(Date.now() / 1000) : parseHttpDate(dateHeader);
    if (date === null) return false;
    return at < date;
  }
  const cc = joined(out['cache-control']);
  if (cc !== undefined) {
    return (p.has('no-cache') && hasToken(cc, 'no-cache')) || (p.has('no-store') && hasToken(cc, 'no-store')) || (p.has('private') && hasToken(cc, 'private'));
  }
  if (p.has('no_last_modified') && out['last-modified'] !== undefined) return false;
  if (p.has('no_etag') && out['etag'] !== undefined) return false;
  return true;
}

/** ngx_http_gzip_ok: the request side. */
function requestAllows(plan: GzipPlan, req: GzipRequest, out: HeaderRecord): boolean {
  if (!acceptsGzip(joined(req.headers['accept-encoding']))) return false;
  const ua = first(req.headers['user-agent']);
  if (plan.disableMsie6 && ua !== undefined && isMsie6(ua)) return false;
  if (req.version < plan.httpVersion) return false;
  if (req.headers['via'] !== undefined && !proxiedAllows(plan, req, out)) return false;
  if (ua !== undefined) for (const re of plan.disable) if (re.test(ua)) return false;
  return true;
}

/** The decision for one response: `out` holds its final headers under lower-case names. */
export function decideGzip(plan: GzipPlan | null, req: GzipRequest, status: number, out: HeaderRecord): GzipDecision {
  if (plan === null || !responseQualifies(plan, status, out)) return NONE;
  return { vary: true, compress: requestAllows(plan, req, out) };
}

/** nginx's weak ETag: W/ kept, a strong "..." made weak, anything else dropped (undefined). */
export function weakEtag(etag: string): string | undefined {
  if (etag.startsWith('W/')) return etag;
  if (etag.startsWith('"')) return `W/${etag}`;
  return undefined;
}
