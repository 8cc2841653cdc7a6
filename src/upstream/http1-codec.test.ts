// Unit tests for the HTTP/1 wire codec: request encoding and chunked framing, response parsing fed in any split,
// keepalive decisions, interim and upgrade answers, and the failure codes it reports.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { WireEvents, WireFailure } from './codec.ts';
import { http1Codec } from './http1-codec.ts';
import type { HeaderList, HttpRequest } from './types.ts';

interface Recorded {
  head: [number, HeaderList, string] | null;
  body: string;
  end: boolean | null;
  fail: WireFailure | null;
  upgrade: string | null;
}

function recorder(): { events: WireEvents; r: Recorded } {
  const r: Recorded = { head: null, body: '', end: null, fail: null, upgrade: null };
  const events: WireEvents = {
    head: (status, headers, reason) => {
      assert.equal(r.head, null, 'one head');
      r.head = [status, headers, reason];
    },
    data: (chunk) => {
      r.body += chunk.toString('latin1');
      return true;
    },
    end: (reusable) => {
      assert.equal(r.end, null, 'one end');
      r.end = reusable;
    },
    fail: (code) => {
      r.fail = code;
    },
    upgrade: (status, _headers, _reason, rest) => {
      r.upgrade = `${status}:${rest.toString('latin1')}`;
    },
  };
  return { events, r };
}

const GET: HttpRequest = { method: 'GET', target: '/p?q', version: '1.1', headers: [['Host', 'h']] };

/** Feeds the answer in pieces of `step` bytes (0: whole). */
function feed(answer: string, step = 0, req: HttpRequest = GET, opts: { maxHead?: number; upgrade?: boolean; eof?: boolean } = {}): Recorded {
  const { events, r } = recorder();
  const s = http1Codec.begin(req, events, opts.maxHead ?? 4096, opts.upgrade ?? false);
  const bytes = Buffer.from(answer, 'latin1');
  if (step === 0) s.parse(bytes);
  else for (let i = 0; i < bytes.length; i += step) s.parse(bytes.subarray(i, i + step));
  if (opts.eof) s.eof();
  return r;
}

test('request head and chunked body framing', () => {
  const { events } = recorder();
  const plain = http1Codec.begin(GET, events, 4096, false);
  assert.equal(plain.head.toString('latin1'), 'GET /p?q HTTP/1.1\r\nHost: h\r\n\r\n');
  assert.equal(plain.frame(Buffer.from('abc')).toString(), 'abc');
  assert.equal(plain.finish(), null);
  const chunked = http1Codec.begin({ ...GET, method: 'POST', headers: [['Transfer-Encoding', 'chunked']] }, events, 4096, false);
  const framed = chunked.frame(Buffer.from('hello, world')) as readonly Buffer[];
  assert.equal(Buffer.concat(framed).toString(), 'c\r\nhello, world\r\n');
  assert.equal(chunked.finish()?.toString(), '0\r\n\r\n');
});

test('content-length and chunked answers, whole or byte by byte, leave the connection reusable', () => {
  const cl = 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\nx-a: 2\r\n\r\nhello';
  const ch = 'HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\n';
  for (const step of [0, 1, 3, 7]) {
    const a = feed(cl, step);
    assert.deepEqual(a.head, [200, [['Content-Length', '5'], ['X-A', '1'], ['x-a', '2']], 'OK']);
    assert.equal(a.body, 'hello');
    assert.equal(a.end, true);
    const b = feed(ch, step);
    assert.equal(b.head?.[0], 201);
    assert.equal(b.body, 'hello world');
    assert.equal(b.end, true);
  }
});

test('keepalive: Connection close either way, HTTP/1.0 defaults, bytes after the answer', () => {
  const ok = 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n';
  assert.equal(feed(ok).end, true);
  assert.equal(feed('HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n').end, false);
  assert.equal(feed('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n').end, false);
  assert.equal(feed('HTTP/1.0 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n').end, true);
  assert.equal(feed(ok, 0, { ...GET, headers: [['Connection', 'close']] }).end, false);
  assert.equal(feed(ok, 0, { ...GET, version: '1.0' }).end, false);
  assert.equal(feed(ok, 0, { ...GET, version: '1.0', headers: [['Connection', 'keep-alive']] }).end, true);
  assert.equal(feed('HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nab').end, false, 'stray bytes');
  const r = feed('HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nab');
  assert.equal(r.body, 'a');
});

test('no body for HEAD, 204 and 304; read until close without framing', () => {
  const head = feed('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n', 0, { ...GET, method: 'HEAD' });
  assert.equal(head.end, true);
  assert.equal(feed('HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n').end, true);
  const open = feed('HTTP/1.1 200 OK\r\n\r\nsome bytes', 4);
  assert.equal(open.end, null);
  const closed = feed('HTTP/1.1 200 OK\r\n\r\nsome bytes', 4, GET, { eof: true });
  assert.equal(closed.body, 'some bytes');
  assert.equal(closed.end, false);
});

test('interim 1xx answers are skipped; 101 goes to upgrade only when asked for', () => {
  const r = feed('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok', 5);
  assert.equal(r.head?.[0], 200);
  assert.equal(r.body, 'ok');
  const up = feed('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\nframes', 0, GET, { upgrade: true });
  assert.equal(up.upgrade, '101:frames');
  assert.equal(up.head, null);
  assert.equal(feed('HTTP/1.1 101 Switching Protocols\r\n\r\n').fail, 'invalid-head');
});

test('failures: bad status line, bad header, too big, broken chunking, cut short', () => {
  assert.equal(feed('HTTP/1.1 2x0 OK\r\n\r\n').fail, 'invalid-head');
  assert.equal(feed('ICY 200 OK\r\n\r\n').fail, 'invalid-head');
  assert.equal(feed('HTTP/1.1 200 OK\r\nNo Colon Here\r\n\r\n').fail, 'invalid-head');
  assert.equal(feed('HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n').fail, 'invalid-head');
  assert.equal(feed(`HTTP/1.1 200 OK\r\nX: ${'v'.repeat(200)}\r\n\r\n`, 16, GET, { maxHead: 100 }).fail, 'head-too-big');
  assert.equal(feed('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n').fail, 'invalid-body');
  assert.equal(feed('HTTP/1.1 200 OK\r\nContent-Le', 0, GET, { eof: true }).fail, 'reset-before-head');
  assert.equal(feed('HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc', 0, GET, { eof: true }).fail, 'reset-mid-body');
  assert.equal(feed('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc', 0, GET, { eof: true }).fail, 'reset-mid-body');
});
