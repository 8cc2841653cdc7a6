// Decides whether an upstream response may be stored and until when, replaying nginx's per-header
// processing (ngx_http_upstream_process_accel_expires, _cache_control, _expires, _set_cookie, _vary, nginx >= 1.23
// semantics) and ngx_http_upstream_send_response's fallback to *_cache_valid. Pure: no I/O, the clock is an argument.
// Not the request side (cache_bypass, cache_methods, no_cache predicates): the pipeline applies those.

import { parseHttpDate } from './http-date.ts';

export interface CacheValidRule {
  /** Status codes; an empty list means 200 301 302 (a *_cache_valid line with a time only); 'any' matches all. */
  readonly codes: readonly number[] | 'any';
  readonly seconds: number;
}

export type ResponseHeaders = readonly (readonly [string, string])[];

export type NotCacheableReason =
  | 'x-accel-expires-zero'
  | 'cache-control'
  | 'cache-control-invalid'
  | 'expires'
  | 'set-cookie'
  | 'vary'
  | 'no-valid-time';

export type ValiditySource = 'x-accel-expires' | 'cache-control' | 'expires' | 'cache-valid';

export interface Freshness {
  readonly cacheable: boolean;
  readonly reason?: NotCacheableReason;
  /** Milliseconds since the epoch (whole seconds, as nginx keeps them); 0 when not cacheable. */
  readonly validUntil: number;
  /** stale-while-revalidate window in seconds. */
  readonly updatingSec: number;
  /** stale-if-error window in seconds. */
  readonly errorSec: number;
  /** Combined Vary value the variants are keyed by; '' when absent or ignored. */
  readonly vary: string;
  readonly source?: ValiditySource;
}

export interface StaleState {
  readonly fresh: boolean;
  readonly staleUpdating: boolean;
  readonly staleError: boolean;
}

/** NGX_HTTP_CACHE_VARY_LEN: a longer Vary makes the response uncacheable. */
export const VARY_MAX_LENGTH = 128;

const DEFAULT_VALID_CODES: readonly number[] = [200, 301, 302];
const MAX_DELTA_SECONDS = 8_640_000_000;

interface State {
  cacheable: boolean;
  reason: NotCacheableReason | undefined;
  validSec: number;
  source: ValiditySource | undefined;
  updatingSec: number;
  errorSec: number;
  noCache: boolean;
  expired: boolean;
  accelExpiresSeen: boolean;
  expiresSeen: boolean;
  varyLines: string[];
  vary: string;
}

export function computeFreshness(
  status: number,
  headers: ResponseHeaders,
  ignoreHeaders: Iterable<string>,
  cacheValid: readonly CacheValidRule[],
  now: number,
): Freshness {
  const ignored = new Set<string>();
  for (const name of ignoreHeaders) ignored.add(name.toLowerCase());
  const nowSec = Math.floor(now / 1000);
  const st: State = {
    cacheable: true,
    reason: undefined,
    validSec: 0,
    source: undefined,
    updatingSec: 0,
    errorSec: 0,
    noCache: false,
    expired: false,
    accelExpiresSeen: false,
    expiresSeen: false,
    varyLines: [],
    vary: '',
  };

  for (const [rawName, rawValue] of headers) {
    const name = rawName.toLowerCase();
    const value = rawValue.trim();
    switch (name) {
      case 'x-accel-expires':
        accelExpires(st, value, ignored.has(name), nowSec);
        break;
      case 'cache-control':
        cacheControl(st, value, ignored.has(name), nowSec);
        break;
      case 'expires':
        expires(st, value, ignored.has(name), nowSec);
        break;
      case 'set-cookie':
        if (!ignored.has(name)) disable(st, 'set-cookie');
        break;
      case 'vary':
        vary(st, value, ignored.has(name));
        break;
    }
  }

  if (st.noCache) disable(st, 'cache-control');
  else if (st.expired) disable(st, 'expires');

  if (st.cacheable && st.validSec === 0) {
    const seconds = cacheValidSeconds(cacheValid, status);
    if (seconds > 0) {
      st.validSec = nowSec + seconds;
      st.source = 'cache-valid';
    } else {
      disable(st, 'no-valid-time');
    }
  }

  if (!st.cacheable) {
    return { cacheable: false, reason: st.reason, validUntil: 0, updatingSec: 0, errorSec: 0, vary: '' };
  }
  return {
    cacheable: true,
    validUntil: st.validSec * 1000,
    updatingSec: st.updatingSec,
    errorSec: st.errorSec,
    vary: st.vary,
    source: st.source,
  };
}

/** The first *_cache_valid rule matching the status wins, even with a zero time (ngx_http_file_cache_valid). */
export function cacheValidSeconds(rules: readonly CacheValidRule[], status: number): number {
  for (const rule of rules) {
    if (rule.codes === 'any') return rule.seconds;
    const codes = rule.codes.length === 0 ? DEFAULT_VALID_CODES : rule.codes;
    if (codes.includes(status)) return rule.seconds;
  }
  return 0;
}

/** Whole-second comparison as in ngx_http_file_cache_read: stale once valid_sec < now. */
export function staleState(validUntil: number, updatingSec: number, errorSec: number, now: number): StaleState {
  const nowSec = Math.floor(now / 1000);
  const validSec = Math.floor(validUntil / 1000);
  if (validSec >= nowSec) return { fresh: true, staleUpdating: false, staleError: false };
  return {
    fresh: false,
    staleUpdating: validSec + updatingSec >= nowSec,
    staleError: validSec + errorSec >= nowSec,
  };
}

function disable(st: State, reason: NotCacheableReason): void {
  if (!st.cacheable) return;
  st.cacheable = false;
  st.reason = reason;
}

function accelExpires(st: State, value: string, ignored: boolean, nowSec: number): void {
  if (st.accelExpiresSeen) return;
  st.accelExpiresSeen = true;
  if (ignored) return;
  if (value.startsWith('@')) {
    const at = parseUnsigned(value.slice(1));
    if (at !== null) setValidity(st, at);
    return;
  }
  const n = parseUnsigned(value);
  if (n === null) return;
  if (n === 0) {
    disable(st, 'x-accel-expires-zero');
    return;
  }
  setValidity(st, nowSec + n);
}

function cacheControl(st: State, value: string, ignored: boolean, nowSec: number): void {
  if (ignored) return;
  const v = value.toLowerCase();
  if (!(st.validSec !== 0 && st.accelExpiresSeen)) {
    if (v.includes('no-cache') || v.includes('no-store') || v.includes('private')) {
      st.noCache = true;
      return;
    }
    let at = v.indexOf('s-maxage=');
    let skip = 9;
    if (at < 0) {
      at = v.indexOf('max-age=');
      skip = 8;
    }
    if (at >= 0) {
      const n = deltaSeconds(v, at + skip);
      if (n === null) {
        disable(st, 'cache-control-invalid');
        return;
      }
      if (n === 0) {
        st.noCache = true;
        return;
      }
      st.validSec = nowSec + n;
      st.source = 'cache-control';
      st.expired = false;
    }
  }

  const swr = v.indexOf('stale-while-revalidate=');
  if (swr >= 0) {
    const n = deltaSeconds(v, swr + 23);
    if (n === null) {
      disable(st, 'cache-control-invalid');
      return;
    }
    st.updatingSec = n;
    st.errorSec = n;
  }
  const sie = v.indexOf('stale-if-error=');
  if (sie >= 0) {
    const n = deltaSeconds(v, sie + 15);
    if (n === null) {
      disable(st, 'cache-control-invalid');
      return;
    }
    st.errorSec = n;
  }
}

function expires(st: State, value: string, ignored: boolean, nowSec: number): void {
  if (st.expiresSeen) return;
  st.expiresSeen = true;
  if (ignored || st.validSec !== 0) return;
  const at = parseHttpDate(value);
  if (at === null || at < nowSec) {
    st.expired = true;
    return;
  }
  st.validSec = at;
  st.source = 'expires';
}

function vary(st: State, value: string, ignored: boolean): void {
  st.varyLines.push(value);
  if (ignored || !st.cacheable) return;
  if (value === '*') {
    disable(st, 'vary');
    return;
  }
  const combined = st.varyLines.join(', ');
  if (combined.length > VARY_MAX_LENGTH) {
    disable(st, 'vary');
    return;
  }
  st.vary = combined;
}

/** X-Accel-Expires wins over flags left by Cache-Control or Expires parsed before it. */
function setValidity(st: State, validSec: number): void {
  st.validSec = validSec;
  st.source = 'x-accel-expires';
  st.noCache = false;
  st.expired = false;
}

function parseUnsigned(s: string): number | null {
  if (!/^\d+$/.test(s)) return null;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : null;
}

function deltaSeconds(s: string, from: number): number | null {
  let n = 0;
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2c || c === 0x3b || c === 0x20) break;
    if (c < 0x30 || c > 0x39) return null;
    n = Math.min(n * 10 + (c - 0x30), MAX_DELTA_SECONDS);
  }
  return n;
}
