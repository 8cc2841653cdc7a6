// nginx's gzip decision as pure functions: Accept-Encoding parsing with ngx_http_gzip_accept_encoding's quirks, the
// msie6 flag, the response conditions (status, encoding, length, types) and gzip_proxied against response headers.
// The same answers are checked against a running nginx in test/integration/gzip.test.ts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { acceptsGzip, decideGzip, isMsie6, weakEtag, type GzipRequest } from './decide.ts';
import type { GzipPlan } from './directives.ts';

const PLAN: GzipPlan = {
  level: 1,
  minLength: 20,
  types: new Set(['text/html', 'text/css']),
  httpVersion: 11,
  proxied: 'off',
  vary: false,
  disable: [],
  disableSources: [],
  disableMsie6: false,
};

const req = (headers: GzipRequest['headers'], version = 11): GzipRequest => ({ version, headers: { 'accept-encoding': 'gzip', ...headers } });

test('Accept-Encoding: a gzip token with a non-zero quality, read as nginx reads it', () => {
  const cases: [string | undefined, boolean][] = [
    ['gzip', true],
    ['gzip, deflate', true],
    ['deflate, gzip', true],
    ['br,gzip', true],
    ['GZIP', true],
    ['gzip;q=0.5', true],
    ['gzip; q=0.001', true],
    ['gzip;q=1', true],
    ['gzip;q=1.000', true],
    ['deflate, gzip;q=0', false],
    ['gzip;q=0.000', false],
    ['gzip;q=1.5', false],
    ['gzip;q=0.0001', false],
    ['gzip;q=', false],
    ['x-gzip', false],
    ['gzipx', false],
    ['identity', false],
    ['gzi', false],
    ['', false],
    [undefined, false],
  ];
  for (const [ae, want] of cases) assert.equal(acceptsGzip(ae), want, `Accept-Encoding: ${ae}`);
});

test('msie6: MSIE 4 and 5, MSIE 6 without SV1, never Opera', () => {
  assert.equal(isMsie6('Mozilla/4.0 (compatible; MSIE 5.5; Windows 98)'), true);
  assert.equal(isMsie6('Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)'), true);
  assert.equal(isMsie6('Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)'), false);
  assert.equal(isMsie6('Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 6.0)'), false);
  assert.equal(isMsie6('Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1) Opera 8.50'), false);
  assert.equal(isMsie6('msie 6.0'), false);
});

test('the response side: statuses 200/403/404, no Content-Encoding, length, type; it decides Vary', () => {
  const html = { 'content-type': 'text/html; charset=utf-8', 'content-length': '500' };
  assert.deepEqual(decideGzip(PLAN, req({}), 200, html), { vary: true, compress: true });
  assert.deepEqual(decideGzip(PLAN, req({}), 404, html), { vary: true, compress: true });
  assert.deepEqual(decideGzip(PLAN, req({}), 500, html), { vary: false, compress: false });
  assert.deepEqual(decideGzip(PLAN, req({}), 206, html), { vary: false, compress: false });
  assert.deepEqual(decideGzip(PLAN, req({}), 200, { ...html, 'content-encoding': 'br' }), { vary: false, compress: false });
  assert.deepEqual(decideGzip(PLAN, req({}), 200, { ...html, 'content-length': '19' }), { vary: false, compress: false });
  assert.deepEqual(decideGzip(PLAN, req({}), 200, { 'content-type': 'text/html' }), { vary: true, compress: true });
  assert.deepEqual(decideGzip(PLAN, req({}), 200, { 'content-type': 'TEXT/CSS' }), { vary: true, compress: true });
  assert.deepEqual(decideGzip(PLAN, req({}), 200, { 'content-type': 'image/png' }), { vary: false, compress: false });
  assert.deepEqual(decideGzip(PLAN, req({}), 200, {}), { vary: false, compress: false });
  assert.deepEqual(decideGzip({ ...PLAN, types: '*' }, req({}), 200, {}), { vary: true, compress: true });
  assert.deepEqual(decideGzip(null, req({}), 200, html), { vary: false, compress: false });
});

test('the request side: Accept-Encoding, gzip_http_version, gzip_disable', () => {
  const html = { 'content-type': 'text/html' };
  assert.equal(decideGzip(PLAN, req({ 'accept-encoding': 'br' }), 200, html).compress, false);
  assert.equal(decideGzip(PLAN, req({}, 10), 200, html).compress, false);
  assert.equal(decideGzip({ ...PLAN, httpVersion: 10 }, req({}, 10), 200, html).compress, true);
  assert.equal(decideGzip(PLAN, req({}, 20), 200, html).compress, true);
  const disabling = { ...PLAN, disable: [/curl\/[0-9]/i], disableMsie6: true };
  assert.equal(decideGzip(disabling, req({ 'user-agent': 'CURL/8.1' }), 200, html).compress, false);
  assert.equal(decideGzip(disabling, req({ 'user-agent': 'Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)' }), 200, html).compress, false);
  assert.equal(decideGzip(disabling, req({ 'user-agent': 'Wget/1.21' }), 200, html).compress, true);
});

test('gzip_proxied: a request with Via is compressed only as the response headers allow', () => {
  const via = { via: '1.1 proxy' };
  const html = { 'content-type': 'text/html' };
  const with_ = (...keys: string[]): GzipPlan => ({ ...PLAN, proxied: new Set(keys) as GzipPlan['proxied'] });
  assert.equal(decideGzip(PLAN, req(via), 200, html).compress, false);
  assert.equal(decideGzip(with_('any'), req(via), 200, html).compress, true);
  assert.equal(decideGzip(with_('auth'), req({ ...via, authorization: 'Basic eDp5' }), 200, html).compress, true);
  const past = { ...html, expires: 'Thu, 01 Jan 1970 00:00:01 GMT' };
  const future = { ...html, expires: 'Thu, 31 Dec 2037 23:55:55 GMT' };
  assert.equal(decideGzip(with_('expired'), req(via), 200, past).compress, true);
  assert.equal(decideGzip(with_('expired'), req(via), 200, future).compress, false);
  assert.equal(decideGzip(with_('no-cache'), req(via), 200, past).compress, false, 'Expires is judged first');
  assert.equal(decideGzip(with_('no-cache'), req(via), 200, { ...html, 'cache-control': 'max-age=0, no-cache' }).compress, true);
  assert.equal(decideGzip(with_('no-store'), req(via), 200, { ...html, 'cache-control': 'no-cache' }).compress, false);
  assert.equal(decideGzip(with_('private'), req(via), 200, { ...html, 'cache-control': ['public', 'private'] }).compress, true);
  assert.equal(decideGzip(with_('no_last_modified'), req(via), 200, { ...html, 'last-modified': 'Thu, 01 Jan 1970 00:00:01 GMT' }).compress, false);
  assert.equal(decideGzip(with_('no_last_modified'), req(via), 200, html).compress, true);
  assert.equal(decideGzip(with_('no_etag'), req(via), 200, { ...html, etag: '"x"' }).compress, false);
  assert.equal(decideGzip(with_('expired'), req(via), 200, html).compress, true, 'no Expires, no Cache-Control: nothing forbids it');
});

test('weak ETag: W/ kept, strong made weak, other forms dropped', () => {
  assert.equal(weakEtag('W/"a"'), 'W/"a"');
  assert.equal(weakEtag('"a"'), 'W/"a"');
  assert.equal(weakEtag('a'), undefined);
});
