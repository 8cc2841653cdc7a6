// Tests for the CGI response-head parser: status rules, redirects, line endings, splits, size cap.
// Not FastCGI record tests (fastcgi/response-decoder.test.ts).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CgiResponseHeadParser } from './response-head.ts';
import type { CgiResponseHead } from './response-head.ts';
import type { HeadParserOptions } from '../http1/head-error.ts';

interface Outcome {
  head?: CgiResponseHead;
  body?: string;
  error?: { code: string; size: number };
}

function parse(chunks: Array<Buffer | string>, options?: HeadParserOptions): Outcome {
  const parser = new CgiResponseHeadParser(options);
  let body = '';
  let head: CgiResponseHead | undefined;
  for (const c of chunks) {
    const chunk = typeof c === 'string' ? Buffer.from(c, 'latin1') : c;
    const result = parser.push(chunk);
    if (result.state === 'error') return { error: { code: result.error.code, size: result.error.size } };
    if (result.state === 'done') {
      head = result.head;
      body += chunk.toString('latin1', result.bodyOffset);
    }
  }
  return head ? { head, body } : {};
}

function splits(text: string, options?: HeadParserOptions): void {
  const whole = parse([text], options);
  for (let i = 0; i <= text.length; i++) {
    assert.deepEqual(parse([text.slice(0, i), text.slice(i)], options), whole, `split at ${i}`);
  }
  assert.deepEqual(parse([...text], options), whole, 'one byte at a time');
}

test('Status sets status and reason; every header line is kept in order', () => {
  const { head, body } = parse(['Status: 404 Not Found\r\nContent-Type: text/html\r\nX-A: 1\r\nX-A: 2\r\n\r\n<h1>404</h1>']);
  assert.equal(head!.status, 404);
  assert.equal(head!.reason, 'Not Found');
  assert.equal(head!.hasStatus, true);
  assert.deepEqual(head!.headers, [
    ['Status', '404 Not Found'],
    ['Content-Type', 'text/html'],
    ['X-A', '1'],
    ['X-A', '2'],
  ]);
  assert.equal(body, '<h1>404</h1>');
});

test('Status without a reason, lower-case name, first one wins', () => {
  const { head } = parse(['status: 204\r\nStatus: 500 Oops\r\n\r\n']);
  assert.equal(head!.status, 204);
  assert.equal(head!.reason, '');
});

test('missing Status gives 200 OK', () => {
  const { head } = parse(['Content-Type: text/plain\r\n\r\nhi']);
  assert.deepEqual([head!.status, head!.reason, head!.hasStatus, head!.location, head!.localRedirect], [200, 'OK', false, null, false]);
});

test('Location with no Status: 302; the local-redirect flag only for an absolute path', () => {
  const absolute = parse(['Location: https://example.com/x\r\n\r\n']).head!;
  assert.deepEqual([absolute.status, absolute.reason, absolute.localRedirect], [302, 'Moved Temporarily', false]);
  assert.equal(absolute.location, 'https://example.com/x');
  const local = parse(['Location: /index.php?a=1\r\n\r\n']).head!;
  assert.deepEqual([local.status, local.localRedirect, local.location], [302, true, '/index.php?a=1']);
  assert.equal(parse(['Location: //cdn.example.com/x\r\n\r\n']).head!.localRedirect, false);
  assert.equal(parse(['Location: relative/path\r\n\r\n']).head!.localRedirect, false);
});

test('Location with Status keeps the Status and is never a local redirect', () => {
  const head = parse(['Status: 301 Moved Permanently\r\nLocation: /new\r\n\r\n']).head!;
  assert.deepEqual([head.status, head.localRedirect, head.location], [301, false, '/new']);
});

test('LF-only and mixed line endings', () => {
  const lf = parse(['Status: 403 Forbidden\nX-B: y\n\nbody']);
  assert.equal(lf.head!.status, 403);
  assert.equal(lf.body, 'body');
  const mixed = parse(['X-A: 1\r\nX-B: 2\n\r\nbody']);
  assert.deepEqual(mixed.head!.headers, [['X-A', '1'], ['X-B', '2']]);
  assert.equal(mixed.body, 'body');
  const crlfThenLf = parse(['X-A: 1\r\n\nrest']);
  assert.equal(crlfThenLf.body, 'rest');
});

test('an empty head: the body starts right after the first empty line', () => {
  const { head, body } = parse(['\r\nbody']);
  assert.deepEqual(head!.headers, []);
  assert.equal(head!.status, 200);
  assert.equal(body, 'body');
});

test('values are trimmed; bytes above 0x7f survive as latin1', () => {
  const { head } = parse([Buffer.concat([Buffer.from('X-U:  \t'), Buffer.from('café', 'utf8'), Buffer.from(' \t\r\n\r\n')])]);
  assert.equal(Buffer.from(head!.headers[0]![1], 'latin1').toString('utf8'), 'café');
});

test('folded header lines are rejected', () => {
  assert.equal(parse(['X-A: 1\r\n  continued\r\n\r\n']).error!.code, 'header-folding');
  assert.equal(parse(['X-A: 1\n\tcontinued\n\n']).error!.code, 'header-folding');
});

test('invalid header names, missing colon, bare CR, NUL, bad Status', () => {
  for (const [text, code] of [
    ['Bad Name: x\r\n\r\n', 'invalid-header-name'],
    ['X-A : x\r\n\r\n', 'invalid-header-name'],
    ['(x): y\r\n\r\n', 'invalid-header-name'],
    [': novalue\r\n\r\n', 'invalid-header-name'],
    ['Café: x\r\n\r\n', 'invalid-header-name'],
    ['nocolon\r\n\r\n', 'invalid-header'],
    ['no colon here\r\n\r\n', 'invalid-header-name'],
    ['X-A: a\rb\r\n\r\n', 'bare-cr'],
    ['X-A: a\r\r\n\r\n', 'bare-cr'],
    ['\rX\n\n', 'bare-cr'],
    ['X-A: a\0b\r\n\r\n', 'invalid-header'],
    ['Status: abc\r\n\r\n', 'invalid-status'],
    ['Status: 20\r\n\r\n', 'invalid-status'],
    ['Status: 2000\r\n\r\n', 'invalid-status'],
    ['Status: 099 Low\r\n\r\n', 'invalid-status'],
  ] as const) {
    assert.equal(parse([text]).error?.code, code, JSON.stringify(text));
  }
});

test('split at every offset and one byte at a time give the same result', () => {
  splits('Status: 404 Not Found\r\nContent-Type: text/html\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n<p>body</p>\r\n\r\n');
  splits('Location: /next\nX-Mixed: 1\r\n\nbody');
  splits('X-A: 1\r\n X-fold\r\n\r\n');
});

test('a head over the cap fails at every split, the size seen past the cap', () => {
  const text = 'X'.repeat(50) + ': v\r\n\r\nbody';
  for (let i = 0; i <= text.length; i++) {
    const { error } = parse([text.slice(0, i), text.slice(i)], { maxSize: 40 });
    assert.equal(error?.code, 'too-big-header');
    assert.ok(error.size > 40 && error.size <= text.length - 4);
  }
});

test('head over the cap: too-big-header with the size seen', () => {
  const text = 'X-Long: ' + 'v'.repeat(100) + '\r\n\r\nbody';
  const headLength = text.indexOf('body');
  assert.deepEqual(parse([text], { maxSize: headLength }).body, 'body');
  assert.deepEqual(parse([text], { maxSize: headLength - 1 }).error, { code: 'too-big-header', size: headLength });
  assert.deepEqual(parse([text.slice(0, 30), text.slice(30, 60)], { maxSize: 50 }).error, { code: 'too-big-header', size: 60 });
  const grown = parse([...text], { maxSize: 4096 });
  assert.equal(grown.body, 'body');
  const big = 'X-Big: ' + 'b'.repeat(5000) + '\r\n\r\n';
  assert.equal(parse([big]).error!.code, 'too-big-header');
  assert.equal(parse([big], { maxSize: 8192 }).head!.headers[0]![1].length, 5000);
});

test('after done every further chunk is body; after an error the error repeats', () => {
  const parser = new CgiResponseHeadParser();
  parser.push(Buffer.from('X: 1\r\n\r\nab'));
  const next = parser.push(Buffer.from('cd'));
  assert.equal(next.state, 'done');
  assert.equal(next.state === 'done' && next.bodyOffset, 0);
  const failing = new CgiResponseHeadParser();
  const first = failing.push(Buffer.from(' folded\r\n\r\n'));
  assert.equal(failing.push(Buffer.from('X: 1\r\n\r\n')), first);
});

test('random bytes never throw', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 30 }), { maxLength: 5 }), fc.integer({ min: 1, max: 64 }), (chunks, maxSize) => {
      const parser = new CgiResponseHeadParser({ maxSize });
      for (const c of chunks) {
        const result = parser.push(Buffer.from(c));
        if (result.state === 'done') assert.ok(result.bodyOffset >= 0 && result.bodyOffset <= c.length);
      }
    }),
    { numRuns: 500 },
  );
});
