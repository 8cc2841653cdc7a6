// Tests for the chunked body decoder: every split, extensions, trailers, bad sizes, truncation.
// Not response-head tests (response-head.test.ts).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ChunkedDecoder } from './chunked-decoder.ts';
import type { ChunkedDecodeErrorCode } from './chunked-decoder.ts';
import { cutAt } from '../test-helpers.ts';

interface Outcome {
  data: string;
  ended: boolean;
  error?: ChunkedDecodeErrorCode;
  consumed: number;
}

function decode(chunks: Buffer[], finish = true): Outcome {
  const out: Outcome = { data: '', ended: false, consumed: 0 };
  let events = 0;
  const decoder = new ChunkedDecoder({
    data: (slice) => {
      assert.ok(!out.ended && out.error === undefined, 'no data after end or error');
      assert.ok(slice.length > 0);
      out.data += slice.toString('latin1');
    },
    end: () => {
      events++;
      out.ended = true;
    },
    error: (code) => {
      events++;
      out.error = code;
    },
  });
  for (const c of chunks) out.consumed += decoder.push(c);
  if (finish) decoder.finish();
  assert.ok(events <= 1, 'one terminal event');
  return out;
}

const body =
  '5\r\nhello\r\n' +
  '1;name=value;x="q"\r\n,\r\n' +
  '6 ; ext\r\n world\r\n' +
  'A\n0123456789\n' +
  '0\r\n' +
  'Trailer-One: 1\r\n' +
  'Trailer-Two: 2\n' +
  '\r\n';
const bytes = Buffer.from(body, 'latin1');
const expected: Outcome = { data: 'hello, world0123456789', ended: true, consumed: bytes.length };

test('a whole body with extensions, LF-only lines and trailers', () => {
  assert.deepEqual(decode([bytes]), expected);
});

test('data comes out as slices of the input', () => {
  const slices: Buffer[] = [];
  const decoder = new ChunkedDecoder({ data: (s) => slices.push(s), end: () => {}, error: () => assert.fail() });
  decoder.push(bytes);
  assert.ok(decoder.ended);
  for (const s of slices) assert.equal(s.buffer, bytes.buffer);
});

test('one byte at a time, and split at every pair of offsets', () => {
  const single: Buffer[] = [];
  for (let i = 0; i < bytes.length; i++) single.push(bytes.subarray(i, i + 1));
  assert.deepEqual(decode(single), expected);
  for (let i = 0; i <= bytes.length; i++) {
    for (let j = i; j <= bytes.length; j++) {
      assert.deepEqual(decode([bytes.subarray(0, i), bytes.subarray(i, j), bytes.subarray(j)]), expected, `split ${i}/${j}`);
    }
  }
});

test('bytes after the last chunk are not consumed', () => {
  const extra = Buffer.concat([Buffer.from('3\r\nabc\r\n0\r\n\r\n'), Buffer.from('HTTP/1.1 200 OK')]);
  const decoder = new ChunkedDecoder({ data: () => {}, end: () => {}, error: () => assert.fail() });
  assert.equal(decoder.push(extra), 13);
  assert.equal(decoder.push(Buffer.from('more')), 0);
});

test('bad chunk sizes', () => {
  for (const [text, code] of [
    ['g\r\n', 'invalid-chunk-size'],
    ['\r\n', 'invalid-chunk-size'],
    [';ext\r\n', 'invalid-chunk-size'],
    ['-1\r\n', 'invalid-chunk-size'],
    [' 5\r\nhello\r\n', 'invalid-chunk-size'],
    ['5x\r\n', 'invalid-chunk-size'],
    ['5 x\r\n', 'invalid-chunk-size'],
    ['0x5\r\n', 'invalid-chunk-size'],
    ['fffffffffffffffff\r\n', 'chunk-size-overflow'],
    ['5\rhello', 'bare-cr'],
    ['3\r\nabcX\r\n', 'invalid-chunk-terminator'],
    ['3\r\nabc\rX', 'invalid-chunk-terminator'],
    ['0\r\nX: 1\rY', 'bare-cr'],
    ['0\r\n\rX', 'bare-cr'],
    ['1;' + 'e'.repeat(5000) + '\r\n', 'chunk-extension-too-long'],
    ['0\r\nX: ' + 'v'.repeat(9000) + '\r\n\r\n', 'trailers-too-big'],
  ] as const) {
    assert.equal(decode([Buffer.from(text)]).error, code, JSON.stringify(text.slice(0, 20)));
  }
});

test('large sizes within range are accepted', () => {
  const decoder = new ChunkedDecoder({ data: () => {}, end: () => {}, error: () => assert.fail() });
  decoder.push(Buffer.from('1fffffffffffff\r\nabc'));
  assert.ok(!decoder.failed);
});

test('EOF before the end is a truncation, at every cut point', () => {
  for (let i = 0; i < bytes.length; i++) {
    assert.equal(decode([bytes.subarray(0, i)]).error, 'truncated-chunked-body', `cut at ${i}`);
  }
});

function encodeChunked(parts: Uint8Array[], lf: boolean): Buffer {
  const eol = lf ? '\n' : '\r\n';
  const pieces: Buffer[] = [];
  for (const p of parts) {
    if (p.length === 0) continue;
    pieces.push(Buffer.from(p.length.toString(16) + eol), Buffer.from(p), Buffer.from(eol));
  }
  pieces.push(Buffer.from('0' + eol + eol));
  return Buffer.concat(pieces);
}

test('random bodies under random splits decode to their data', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 6 }), fc.boolean(), fc.array(fc.nat(), { maxLength: 5 }), (parts, lf, points) => {
      const encoded = encodeChunked(parts, lf);
      const result = decode(cutAt(encoded, points));
      assert.equal(result.data, Buffer.concat(parts).toString('latin1'));
      assert.ok(result.ended);
    }),
    { numRuns: 300 },
  );
});

test('random garbage never throws and finish always leaves it ended or failed', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 30 }), { maxLength: 5 }), (chunks) => {
      const result = decode(chunks.map((c) => Buffer.from(c)));
      assert.ok(result.ended || result.error !== undefined);
    }),
    { numRuns: 500 },
  );
});
