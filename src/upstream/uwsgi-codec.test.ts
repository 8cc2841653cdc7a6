// Tests for the uwsgi wire codec: the packet as the head, the raw body, the HTTP/1 (or CGI-style) response read
// through WireSession.parse() split at every offset, the body framings, and the failures the engine turns into 502.
// Not a transport test: real uWSGI runs in test/integration.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { uwsgiCodec, uwsgiRequest, type UwsgiRequest } from './uwsgi-codec.ts';
import type { WireEvents } from './codec.ts';
import { sameAtEverySplit, recordInto, withoutSeenCount, type Outcome } from './codec-test-helpers.ts';

function request(method = 'GET'): UwsgiRequest {
  const r = uwsgiRequest([['REQUEST_METHOD', method], ['PATH_INFO', '/']], { method });
  assert.ok(r.ok);
  return r.request;
}

function run(input: Buffer[], options: { method?: string; eof?: boolean; maxHead?: number } = {}): Outcome {
  const out: Outcome = { head: null, body: '', end: null, fail: null, after: 0 };
  const s = uwsgiCodec.begin(request(options.method), recordInto(out), options.maxHead ?? 4096, false);
  for (const c of input) s.parse(c);
  if (options.eof) s.eof();
  return out;
}

function everySplit(text: string, options: { method?: string; eof?: boolean; maxHead?: number } = {}): Outcome {
  return sameAtEverySplit(Buffer.from(text, 'latin1'), (input) => run(input, options), withoutSeenCount);
}

test('the head is the uwsgi packet with both modifiers; the body goes raw; nothing after it', () => {
  const r = uwsgiRequest([['A', 'bc']], { modifier1: 5, modifier2: 9, method: 'POST' });
  assert.ok(r.ok);
  const s = uwsgiCodec.begin(r.request, {} as WireEvents, 4096, false);
  assert.deepEqual([...s.head], [5, 7, 0, 9, 1, 0, 0x41, 2, 0, 0x62, 0x63]);
  const chunk = Buffer.from('body');
  assert.equal(s.frame(chunk), chunk);
  assert.equal(s.finish(), null);
});

test('vars over 65535 bytes are refused with the size and the largest var', () => {
  const r = uwsgiRequest([['REQUEST_URI', '/'], ['HTTP_COOKIE', 'c'.repeat(70_000)]], { method: 'GET' });
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.equal(r.largest.name, 'HTTP_COOKIE');
  assert.ok(r.size > 65535);
});

test('Content-Length body: ends at the length, never reusable, bytes after it ignored', () => {
  const o = everySplit('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\nhelloEXTRA');
  assert.deepEqual(o.head, {
    status: 200,
    reason: 'OK',
    headers: [['Content-Type', 'text/plain'], ['Content-Length', '5'], ['Set-Cookie', 'a=1'], ['Set-Cookie', 'b=2']],
  });
  assert.equal(o.body, 'hello');
  assert.equal(o.end, false);
  assert.equal(o.after, 0);
});

test('no length: the body runs until uWSGI closes', () => {
  const o = everySplit('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\npart one, part two', { eof: true });
  assert.equal(o.body, 'part one, part two');
  assert.equal(o.end, false);
});

test('chunked bodies are decoded', () => {
  const o = everySplit('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n');
  assert.equal(o.body, 'hello world');
  assert.equal(o.end, false);
});

test('204, 304 and HEAD responses have no body', () => {
  assert.equal(everySplit('HTTP/1.1 204 No Content\r\n\r\n').end, false);
  const head = run([Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n')], { method: 'HEAD' });
  assert.equal(head.end, false);
  assert.equal(head.body, '');
});

test('a CGI-style head (no status line) is read as nginx falls back to: Status, Location, else 200', () => {
  const status = everySplit('Status: 404 Not Found\r\nContent-Length: 2\r\n\r\nno');
  assert.equal(status.head?.status, 404);
  assert.deepEqual(status.head?.headers, [['Content-Length', '2']]);
  assert.equal(status.body, 'no');
  const loc = everySplit('Location: /x\r\n\r\n', { eof: true });
  assert.equal(loc.head?.status, 302);
  assert.equal(run([Buffer.from('Content-Type: text/plain\r\n\r\nok')], { eof: true }).head?.status, 200);
});

test('interim 1xx heads are skipped', () => {
  const o = everySplit('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
  assert.equal(o.head?.status, 200);
  assert.equal(o.body, 'ok');
});

test('failures: closed before or inside the head, short body, invalid head, too big head, bad chunk', () => {
  assert.equal(run([], { eof: true }).fail?.code, 'reset-before-head');
  assert.equal(run([Buffer.from('HTT')], { eof: true }).fail?.code, 'reset-before-head');
  assert.equal(run([Buffer.from('HTTP/1.1 200 OK\r\nA: b')], { eof: true }).fail?.code, 'reset-before-head');
  const short = run([Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc')], { eof: true });
  assert.equal(short.fail?.code, 'reset-mid-body');
  assert.equal(short.body, 'abc');
  const invalid = everySplit('HTTP/1.1 2x0 OK\r\n\r\n');
  assert.equal(invalid.fail?.code, 'invalid-head');
  const both = everySplit('Status: 200\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n');
  assert.equal(both.fail?.code, 'invalid-head');
  const big = everySplit(`HTTP/1.1 200 OK\r\nX-Big: ${'v'.repeat(5000)}\r\n\r\n`);
  assert.equal(big.fail?.code, 'head-too-big');
  assert.match(big.fail!.message, /sent too big header: response head over 4096 bytes/);
  const chunk = everySplit('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n');
  assert.equal(chunk.fail?.code, 'invalid-body');
});
