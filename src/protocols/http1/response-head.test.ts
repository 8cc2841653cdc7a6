// Tests for the HTTP/1.x response-head parser: status lines, framing facts, rejections, splits.
// Not chunked body tests (chunked-decoder.test.ts).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Http1ResponseHeadParser, bodyFraming } from './response-head.ts';
import type { Http1ResponseHead } from './response-head.ts';
import type { HeadParserOptions } from './head-error.ts';

interface Outcome {
  head?: Http1ResponseHead;
  body?: string;
  error?: string;
}

function parse(chunks: string[], options?: HeadParserOptions): Outcome {
  const parser = new Http1ResponseHeadParser(options);
  let head: Http1ResponseHead | undefined;
  let body = '';
  for (const c of chunks) {
    const chunk = Buffer.from(c, 'latin1');
    const result = parser.push(chunk);
    if (result.state === 'error') return { error: result.error.code };
    if (result.state === 'done') {
      head = result.head;
      body += chunk.toString('latin1', result.bodyOffset);
    }
  }
  return head ? { head, body } : {};
}

test('HTTP/1.1 with Content-Length', () => {
  const { head, body } = parse(['HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello']);
  assert.deepEqual(head, {
    minorVersion: 1,
    status: 200,
    reason: 'OK',
    headers: [
      ['Content-Type', 'text/plain'],
      ['Content-Length', '5'],
    ],
    contentLength: 5,
    chunked: false,
    connection: [],
    keepAlive: true,
  });
  assert.equal(body, 'hello');
  assert.equal(bodyFraming(head!, false), 'length');
  assert.equal(bodyFraming(head!, true), 'none');
});

test('HTTP/1.0 defaults to close, keep-alive on request; Connection: close wins', () => {
  assert.equal(parse(['HTTP/1.0 200 OK\r\n\r\n']).head!.keepAlive, false);
  const ka = parse(['HTTP/1.0 404 Not Found\r\nConnection: Keep-Alive\r\n\r\n']).head!;
  assert.deepEqual([ka.minorVersion, ka.status, ka.keepAlive, ka.connection], [0, 404, true, ['keep-alive']]);
  const close = parse(['HTTP/1.1 200 OK\r\nConnection: upgrade, close\r\n\r\n']).head!;
  assert.deepEqual([close.keepAlive, close.connection], [false, ['upgrade', 'close']]);
  assert.equal(bodyFraming(close, false), 'close');
});

test('chunked framing; no body for 1xx, 204, 304', () => {
  const chunked = parse(['HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n5\r\n']).head!;
  assert.equal(chunked.chunked, true);
  assert.equal(bodyFraming(chunked, false), 'chunked');
  for (const status of [100, 204, 304]) {
    assert.equal(bodyFraming(parse([`HTTP/1.1 ${status} X\r\nContent-Length: 3\r\n\r\n`]).head!, false), 'none');
  }
});

test('reason may be empty or absent; LF-only lines are accepted', () => {
  assert.equal(parse(['HTTP/1.1 200\r\n\r\n']).head!.reason, '');
  assert.equal(parse(['HTTP/1.1 200 \r\n\r\n']).head!.reason, '');
  assert.equal(parse(['HTTP/1.1 418 I am a teapot\n\n']).head!.reason, 'I am a teapot');
});

test('invalid status lines', () => {
  for (const line of [
    'HTTP/2.0 200 OK',
    'HTTP/1.2 200 OK',
    'HTTP/1.1 20 OK',
    'HTTP/1.1 2000 OK',
    'HTTP/1.1  200 OK',
    'HTTP/1.1 200\tOK',
    'http/1.1 200 OK',
    'HTTP/1.1 099 Low',
    'HTTP/1.1 abc OK',
    'ICY 200 OK',
    'HTTP/1.1',
    '',
    'X-Header: 1',
  ]) {
    assert.equal(parse([`${line}\r\nX: y\r\n\r\n`]).error, 'invalid-status-line', JSON.stringify(line));
  }
  assert.equal(parse(['HTTP/1.1 200 O\0K\r\n\r\n']).error, 'invalid-status-line');
});

test('obs-fold, bare CR, bad header names', () => {
  assert.equal(parse(['HTTP/1.1 200 OK\r\nX-A: 1\r\n 2\r\n\r\n']).error, 'header-folding');
  assert.equal(parse(['HTTP/1.1 200 OK\rX: 1\r\n\r\n']).error, 'bare-cr');
  assert.equal(parse(['HTTP/1.1 200 OK\r\nX-A: 1\r2\r\n\r\n']).error, 'bare-cr');
  assert.equal(parse(['HTTP/1.1 200 OK\r\nX-A: 1\r\n\rx\n\n']).error, 'bare-cr');
  assert.equal(parse(['HTTP/1.1 200 OK\r\nX A: 1\r\n\r\n']).error, 'invalid-header-name');
});

test('framing conflicts are invalid, as in nginx', () => {
  const base = 'HTTP/1.1 200 OK\r\n';
  assert.equal(parse([`${base}Content-Length: 1\r\nContent-Length: 1\r\n\r\n`]).error, 'invalid-content-length');
  assert.equal(parse([`${base}Content-Length: 1x\r\n\r\n`]).error, 'invalid-content-length');
  assert.equal(parse([`${base}Content-Length: -1\r\n\r\n`]).error, 'invalid-content-length');
  assert.equal(parse([`${base}Content-Length: \r\n\r\n`]).error, 'invalid-content-length');
  assert.equal(parse([`${base}Content-Length: 99999999999999999\r\n\r\n`]).error, 'invalid-content-length');
  assert.equal(parse([`${base}Transfer-Encoding: gzip, chunked\r\n\r\n`]).error, 'invalid-transfer-encoding');
  assert.equal(parse([`${base}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n`]).error, 'invalid-transfer-encoding');
  assert.equal(parse([`${base}Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n`]).error, 'conflicting-framing');
});

test('split at every offset and one byte at a time give the same result', () => {
  for (const text of [
    'HTTP/1.1 301 Moved\r\nLocation: /x\r\nContent-Length: 0\r\nSet-Cookie: a\r\nSet-Cookie: b\r\n\r\nbody\r\n\r\n',
    'HTTP/1.0 200 OK\nServer: uwsgi\r\n\nraw',
    'HTTP/1.1 200 OK\r\nX: 1\r\n folded\r\n\r\n',
    'HTTP/1.1 20x OK\r\n\r\n',
  ]) {
    const whole = parse([text]);
    for (let i = 0; i <= text.length; i++) assert.deepEqual(parse([text.slice(0, i), text.slice(i)]), whole, `split at ${i}`);
    assert.deepEqual(parse([...text]), whole);
  }
});

test('size cap shared with the CGI parser', () => {
  const text = 'HTTP/1.1 200 OK\r\nX: ' + 'v'.repeat(200) + '\r\n\r\n';
  assert.equal(parse([text], { maxSize: text.length }).head!.status, 200);
  assert.equal(parse([text], { maxSize: text.length - 1 }).error, 'too-big-header');
  const parser = new Http1ResponseHeadParser({ maxSize: 100 });
  parser.push(Buffer.from(text.slice(0, 90)));
  const result = parser.push(Buffer.from(text.slice(90, 120)));
  assert.equal(result.state, 'error');
  assert.equal(result.state === 'error' && result.error.size, 120);
});

test('random bytes never throw', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 30 }), { maxLength: 5 }), (chunks) => {
      const parser = new Http1ResponseHeadParser({ maxSize: 64 });
      for (const c of chunks) parser.push(Buffer.from(c));
    }),
    { numRuns: 300 },
  );
  fc.assert(
    fc.property(fc.string({ maxLength: 40 }), (tail) => {
      const parser = new Http1ResponseHeadParser();
      parser.push(Buffer.from(`HTTP/1.1 200 OK\r\n${tail}\r\n\r\n`, 'latin1'));
    }),
    { numRuns: 300 },
  );
});
