// Table of upstream header combinations and the outcome nginx (>= 1.23) gives them; each row names the nginx
// function whose rule it exercises. Not an HTTP test: computeFreshness is pure.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cacheValidSeconds, computeFreshness, staleState, type CacheValidRule, type NotCacheableReason } from './freshness.ts';
import { formatHttpDate } from './http-date.ts';

const N = 1_700_000_000;
const NOW = N * 1000 + 400;
const date = (sec: number) => formatHttpDate(sec * 1000);
const V200: CacheValidRule[] = [{ codes: [200], seconds: 600 }];

interface Row {
  name: string;
  status?: number;
  headers: [string, string][];
  ignore?: string[];
  valid?: CacheValidRule[];
  cacheable: boolean;
  reason?: NotCacheableReason;
  validSec?: number;
  updating?: number;
  error?: number;
  vary?: string;
}

const rows: Row[] = [
  // ngx_http_upstream_send_response -> ngx_http_file_cache_valid
  { name: 'no headers, 200 covered by cache_valid', headers: [], cacheable: true, validSec: N + 600 },
  { name: 'no headers, 404 not covered', status: 404, headers: [], cacheable: false, reason: 'no-valid-time' },
  { name: '"any" covers 404', status: 404, headers: [], valid: [{ codes: 'any', seconds: 60 }], cacheable: true, validSec: N + 60 },
  // ngx_http_file_cache_valid_set_slot: a time alone means 200 301 302
  { name: 'time-only rule covers 301', status: 301, headers: [], valid: [{ codes: [], seconds: 300 }], cacheable: true, validSec: N + 300 },
  { name: 'time-only rule does not cover 404', status: 404, headers: [], valid: [{ codes: [], seconds: 300 }], cacheable: false, reason: 'no-valid-time' },
  // ngx_http_file_cache_valid: first match wins, even with 0
  { name: 'first matching rule wins even at 0', status: 404, headers: [], valid: [{ codes: [404], seconds: 0 }, { codes: 'any', seconds: 60 }], cacheable: false, reason: 'no-valid-time' },
  { name: 'first of two rules for 200', headers: [], valid: [{ codes: [200], seconds: 10 }, { codes: [200], seconds: 20 }], cacheable: true, validSec: N + 10 },
  // ngx_http_upstream_process_accel_expires
  { name: 'X-Accel-Expires seconds', headers: [['X-Accel-Expires', '30']], cacheable: true, validSec: N + 30 },
  { name: 'X-Accel-Expires @absolute', headers: [['X-Accel-Expires', `@${N + 100}`]], cacheable: true, validSec: N + 100 },
  { name: 'X-Accel-Expires 0 disables caching', headers: [['X-Accel-Expires', '0']], cacheable: false, reason: 'x-accel-expires-zero' },
  { name: 'X-Accel-Expires 0 is final even before max-age', headers: [['X-Accel-Expires', '0'], ['Cache-Control', 'max-age=60']], cacheable: false, reason: 'x-accel-expires-zero' },
  { name: 'X-Accel-Expires garbage is ignored', headers: [['X-Accel-Expires', 'soon']], cacheable: true, validSec: N + 600 },
  { name: 'X-Accel-Expires ignored: Cache-Control applies', headers: [['X-Accel-Expires', '30'], ['Cache-Control', 'max-age=60']], ignore: ['X-Accel-Expires'], cacheable: true, validSec: N + 60 },
  { name: 'second X-Accel-Expires line is ignored', headers: [['X-Accel-Expires', '30'], ['X-Accel-Expires', '0']], cacheable: true, validSec: N + 30 },
  // ngx_http_upstream_process_cache_control: X-Accel-Expires precedence in either order
  { name: 'X-Accel-Expires before max-age wins', headers: [['X-Accel-Expires', '30'], ['Cache-Control', 'max-age=60']], cacheable: true, validSec: N + 30 },
  { name: 'X-Accel-Expires after max-age wins', headers: [['Cache-Control', 'max-age=60'], ['X-Accel-Expires', '30']], cacheable: true, validSec: N + 30 },
  { name: 'X-Accel-Expires after no-cache clears it', headers: [['Cache-Control', 'no-cache'], ['X-Accel-Expires', '30']], cacheable: true, validSec: N + 30 },
  { name: 'X-Accel-Expires before private skips it', headers: [['X-Accel-Expires', '30'], ['Cache-Control', 'private']], cacheable: true, validSec: N + 30 },
  { name: 'X-Accel-Expires still lets extensions through', headers: [['X-Accel-Expires', '30'], ['Cache-Control', 'max-age=5, stale-while-revalidate=7']], cacheable: true, validSec: N + 30, updating: 7, error: 7 },
  // ngx_http_upstream_process_cache_control
  { name: 'private', headers: [['Cache-Control', 'private']], cacheable: false, reason: 'cache-control' },
  { name: 'no-store (case-insensitive)', headers: [['cache-control', 'No-Store']], cacheable: false, reason: 'cache-control' },
  { name: 'no-cache anywhere in the value', headers: [['Cache-Control', 'public, no-cache="set-cookie"']], cacheable: false, reason: 'cache-control' },
  { name: 'max-age=0', headers: [['Cache-Control', 'max-age=0']], cacheable: false, reason: 'cache-control' },
  { name: 's-maxage preferred over max-age', headers: [['Cache-Control', 'max-age=60, s-maxage=120']], cacheable: true, validSec: N + 120 },
  { name: 'invalid max-age', headers: [['Cache-Control', 'max-age=60x']], cacheable: false, reason: 'cache-control-invalid' },
  { name: 'max-age ends at ";" or space', headers: [['Cache-Control', 'max-age=45;foo']], cacheable: true, validSec: N + 45 },
  { name: 'stale-while-revalidate and stale-if-error', headers: [['Cache-Control', 'max-age=60, stale-while-revalidate=30, stale-if-error=90']], cacheable: true, validSec: N + 60, updating: 30, error: 90 },
  { name: 'stale-while-revalidate sets both windows', headers: [['Cache-Control', 'max-age=60, stale-while-revalidate=30']], cacheable: true, validSec: N + 60, updating: 30, error: 30 },
  { name: 'invalid stale-if-error', headers: [['Cache-Control', 'max-age=60, stale-if-error=x']], cacheable: false, reason: 'cache-control-invalid' },
  { name: 'Cache-Control ignored', headers: [['Cache-Control', 'no-store']], ignore: ['Cache-Control'], cacheable: true, validSec: N + 600 },
  // ngx_http_upstream_send_response: header validity applies to any status, cache_valid is only the fallback
  { name: 'max-age caches a 500 with no cache_valid for it', status: 500, headers: [['Cache-Control', 'max-age=60']], cacheable: true, validSec: N + 60 },
  // ngx_http_upstream_process_expires
  { name: 'Expires in the future', headers: [['Expires', date(N + 300)]], cacheable: true, validSec: N + 300 },
  { name: 'Expires in the past', headers: [['Expires', date(N - 10)]], cacheable: false, reason: 'expires' },
  { name: 'Expires invalid', headers: [['Expires', '0']], cacheable: false, reason: 'expires' },
  { name: 'Expires past, then max-age clears it', headers: [['Expires', date(N - 10)], ['Cache-Control', 'max-age=60']], cacheable: true, validSec: N + 60 },
  { name: 'max-age, then Expires is skipped', headers: [['Cache-Control', 'max-age=60'], ['Expires', date(N + 300)]], cacheable: true, validSec: N + 60 },
  { name: 'Expires, then max-age overrides', headers: [['Expires', date(N + 300)], ['Cache-Control', 'max-age=60']], cacheable: true, validSec: N + 60 },
  { name: 'Expires ignored', headers: [['Expires', date(N - 10)]], ignore: ['expires'], cacheable: true, validSec: N + 600 },
  { name: 'RFC 850 Expires', headers: [['Expires', 'Sunday, 06-Nov-44 08:49:37 GMT']], cacheable: true, validSec: Date.UTC(2044, 10, 6, 8, 49, 37) / 1000 },
  // ngx_http_upstream_process_set_cookie
  { name: 'Set-Cookie', headers: [['Set-Cookie', 'a=1']], cacheable: false, reason: 'set-cookie' },
  { name: 'Set-Cookie ignored', headers: [['Set-Cookie', 'a=1']], ignore: ['Set-Cookie'], cacheable: true, validSec: N + 600 },
  // ngx_http_upstream_process_vary
  { name: 'Vary: *', headers: [['Vary', '*']], cacheable: false, reason: 'vary' },
  { name: 'Vary: * ignored', headers: [['Vary', '*']], ignore: ['Vary'], cacheable: true, validSec: N + 600, vary: '' },
  { name: 'Vary lines combined', headers: [['Vary', 'Accept-Encoding'], ['Vary', 'Accept-Language']], cacheable: true, validSec: N + 600, vary: 'Accept-Encoding, Accept-Language' },
  { name: 'Vary longer than 128 bytes', headers: [['Vary', `X-${'a'.repeat(130)}`]], cacheable: false, reason: 'vary' },
];

for (const row of rows) {
  test(`freshness: ${row.name}`, () => {
    const f = computeFreshness(row.status ?? 200, row.headers, row.ignore ?? [], row.valid ?? V200, NOW);
    assert.equal(f.cacheable, row.cacheable);
    if (!row.cacheable) {
      assert.equal(f.reason, row.reason);
      assert.equal(f.validUntil, 0);
      return;
    }
    assert.equal(f.validUntil, row.validSec! * 1000);
    assert.equal(f.updatingSec, row.updating ?? 0);
    assert.equal(f.errorSec, row.error ?? 0);
    if (row.vary !== undefined) assert.equal(f.vary, row.vary);
  });
}

test('cacheValidSeconds: no rule matches', () => {
  assert.equal(cacheValidSeconds([], 200), 0);
});

test('staleState: whole seconds as in ngx_http_file_cache_read', () => {
  const valid = N * 1000;
  assert.deepEqual(staleState(valid, 10, 20, N * 1000 + 999), { fresh: true, staleUpdating: false, staleError: false });
  assert.deepEqual(staleState(valid, 10, 20, (N + 5) * 1000), { fresh: false, staleUpdating: true, staleError: true });
  assert.deepEqual(staleState(valid, 10, 20, (N + 15) * 1000), { fresh: false, staleUpdating: false, staleError: true });
  assert.deepEqual(staleState(valid, 10, 20, (N + 21) * 1000), { fresh: false, staleUpdating: false, staleError: false });
});
