// Tests for the CGI variable list fastcgi_pass / uwsgi_pass send: params evaluated in order with if_not_empty,
// request headers as HTTP_*, the params that claim a header, duplicates joined, httpoxy, underscores, and the
// CONTENT_LENGTH / Transfer-Encoding handling of a buffered body.
// Not an encoder test: fastcgi-codec and uwsgi-codec tests cover the wire.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../variables.ts';
import { compileTemplate } from '../../core/variables.ts';
import type { RequestSession } from '../session.ts';
import { buildCgiParams, cgiHeaderName, cgiParamPlan } from './cgi-params.ts';
import type { ParamSpec } from './conf.ts';

function session(rawHeaders: string[], extra: Partial<RequestSession> = {}): RequestSession {
  const headers: Record<string, string> = {};
  for (let i = 0; i < rawHeaders.length; i += 2) headers[rawHeaders[i]!.toLowerCase()] = rawHeaders[i + 1]!;
  return { req: { rawHeaders, headers }, uri: '/a.php', args: 'x=1', method: 'POST', ...extra } as unknown as RequestSession;
}

function param(name: string, value: string, ifNotEmpty = false): ParamSpec {
  return { name, value: compileTemplate(value), ifNotEmpty };
}

test('cgiHeaderName uppercases and turns - into _', () => {
  assert.equal(cgiHeaderName('X-Forwarded-For'), 'HTTP_X_FORWARDED_FOR');
  assert.equal(cgiHeaderName('accept-encoding'), 'HTTP_ACCEPT_ENCODING');
});

test('params in order, if_not_empty skipping empty values, then headers; HTTP_PROXY never passed', () => {
  const plan = cgiParamPlan([param('QUERY_STRING', '$args'), param('HTTPS', '$https', true), param('EMPTY', '')], true, false);
  const s = session(['Host', 'example.test', 'Proxy', 'http://evil:3128', 'X-A', '1', 'proxy', 'again']);
  (s as unknown as { scheme: string }).scheme = 'http';
  assert.deepEqual(buildCgiParams(s, plan, null), [
    ['QUERY_STRING', 'x=1'],
    ['EMPTY', ''],
    ['HTTP_HOST', 'example.test'],
    ['HTTP_X_A', '1'],
  ]);
});

test('a HTTP_* param claims its header; an empty literal HTTP_* param only drops it', () => {
  const plan = cgiParamPlan([param('HTTP_HOST', 'fixed.test'), param('HTTP_X_SECRET', '')], true, false);
  const s = session(['Host', 'client.test', 'X-Secret', 's', 'X-Other', 'o']);
  assert.deepEqual(buildCgiParams(s, plan, null), [
    ['HTTP_HOST', 'fixed.test'],
    ['HTTP_X_OTHER', 'o'],
  ]);
});

test('repeated headers are joined (cookies with "; "), names with "_" dropped unless underscores_in_headers', () => {
  const raw = ['Cookie', 'a=1', 'X-Multi', 'one', 'cookie', 'b=2', 'x-multi', 'two', 'X_Multi', 'spoof'];
  assert.deepEqual(buildCgiParams(session(raw), cgiParamPlan([], true, false), null), [
    ['HTTP_COOKIE', 'a=1; b=2'],
    ['HTTP_X_MULTI', 'one, two'],
  ]);
  assert.deepEqual(buildCgiParams(session(raw), cgiParamPlan([], true, true), null), [
    ['HTTP_COOKIE', 'a=1; b=2'],
    ['HTTP_X_MULTI', 'one, two, spoof'],
  ]);
  assert.deepEqual(buildCgiParams(session(raw), cgiParamPlan([], false, false), null), []);
});

test('a buffered body of known length: CONTENT_LENGTH falls back to it and Transfer-Encoding is not passed', () => {
  const plan = cgiParamPlan([param('CONTENT_LENGTH', '$content_length')], true, false);
  const chunked = session(['Transfer-Encoding', 'chunked']);
  assert.deepEqual(buildCgiParams(chunked, plan, 1500), [['CONTENT_LENGTH', '1500']]);
  assert.deepEqual(buildCgiParams(chunked, plan, null), [['CONTENT_LENGTH', ''], ['HTTP_TRANSFER_ENCODING', 'chunked']]);
  const sized = session(['Content-Length', '12']);
  assert.deepEqual(buildCgiParams(sized, plan, 12), [['CONTENT_LENGTH', '12'], ['HTTP_CONTENT_LENGTH', '12']]);
});

test('HTTP/2 pseudo-headers are not variables', () => {
  assert.deepEqual(buildCgiParams(session([':method', 'GET', ':path', '/', 'accept', '*/*']), cgiParamPlan([], true, false), null), [['HTTP_ACCEPT', '*/*']]);
});
