// Tests for the FastCGI name-value pair codec, including a byte-for-byte comparison with fastcgi-client.
// Not record framing tests: request-head.test.ts covers PARAMS records.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import {
  decodeNameValuePairBytes,
  decodeNameValuePairs,
  encodeNameValuePairs,
  encodedPairLength,
} from './name-value.ts';

const require = createRequire(import.meta.url);
const stringifyKv = require('fastcgi-client/lib/stringifykv.js') as (kv: Record<string, string>) => Buffer;

const codePoint = fc
  .oneof(fc.integer({ min: 0, max: 0x7f }), fc.integer({ min: 0x80, max: 0xd7ff }), fc.integer({ min: 0xe000, max: 0x10ffff }))
  .map((c) => String.fromCodePoint(c));
const text = fc.oneof(
  fc.string({ unit: codePoint, maxLength: 40 }),
  fc.string({ minLength: 120, maxLength: 140 }),
  fc.string({ unit: codePoint, minLength: 40, maxLength: 300 }),
);

test('length prefixes switch from 1 to 4 bytes at 128 bytes', () => {
  for (const [length, prefix] of [
    [0, [0x00]],
    [1, [0x01]],
    [127, [0x7f]],
    [128, [0x80, 0x00, 0x00, 0x80]],
    [129, [0x80, 0x00, 0x00, 0x81]],
    [65536, [0x80, 0x01, 0x00, 0x00]],
  ] as const) {
    const value = 'v'.repeat(length);
    const encoded = encodeNameValuePairs([['N', value]]);
    assert.deepEqual([...encoded.subarray(0, 1)], [1]);
    assert.deepEqual([...encoded.subarray(1, 1 + prefix.length)], [...prefix], `value length ${length}`);
    assert.equal(encoded.length, 1 + prefix.length + 1 + length);
    assert.equal(encodedPairLength(1, length), encoded.length);
    const decoded = decodeNameValuePairs(encoded);
    assert.ok(decoded.ok);
    assert.deepEqual(decoded.pairs, [['N', value]]);
  }
});

test('name lengths use the same two forms', () => {
  const short = encodeNameValuePairs([['n'.repeat(127), '']]);
  assert.equal(short[0], 127);
  assert.equal(short[1], 0);
  const long = encodeNameValuePairs([['n'.repeat(128), 'x']]);
  assert.deepEqual([...long.subarray(0, 5)], [0x80, 0, 0, 128, 1]);
});

test('lengths count UTF-8 bytes, not characters', () => {
  const justShort = '€'.repeat(42) + 'a';
  const justLong = '€'.repeat(43);
  const encoded = encodeNameValuePairs([
    [justShort, justLong],
    ['é😀', 'ß'],
  ]);
  assert.equal(encoded[0], 127);
  assert.deepEqual([...encoded.subarray(1, 5)], [0x80, 0, 0, 129]);
  const decoded = decodeNameValuePairs(encoded);
  assert.ok(decoded.ok);
  assert.deepEqual(decoded.pairs, [
    [justShort, justLong],
    ['é😀', 'ß'],
  ]);
});

test('Buffer names and values pass through unchanged and decode as zero-copy slices', () => {
  const value = Buffer.from([0, 255, 128, 10, 13]);
  const encoded = encodeNameValuePairs([[Buffer.from('BIN'), value], ['k', new Uint8Array([1, 2])]]);
  const decoded = decodeNameValuePairBytes(encoded);
  assert.ok(decoded.ok);
  assert.deepEqual(decoded.pairs[0]![1], value);
  assert.deepEqual([...decoded.pairs[1]![1]], [1, 2]);
  assert.equal(decoded.pairs[0]![1].buffer, encoded.buffer);
});

test('a 4-byte length is accepted for a short name when decoding', () => {
  const block = Buffer.from([0x80, 0, 0, 1, 0x80, 0, 0, 2, 0x41, 0x42, 0x43]);
  assert.deepEqual(decodeNameValuePairs(block), { ok: true, pairs: [['A', 'BC']] });
});

test('truncated blocks are reported, not thrown', () => {
  const good = encodeNameValuePairs([['NAME', 'x'.repeat(200)]]);
  for (let cut = 1; cut < good.length; cut++) {
    const result = decodeNameValuePairs(good.subarray(0, cut));
    assert.equal(result.ok, false, `cut at ${cut}`);
  }
  assert.deepEqual(decodeNameValuePairs(Buffer.alloc(0)), { ok: true, pairs: [] });
});

test('decode(encode(pairs)) is the identity', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(text, text), { maxLength: 12 }), (pairs) => {
      const decoded = decodeNameValuePairs(encodeNameValuePairs(pairs));
      assert.ok(decoded.ok);
      assert.deepEqual(decoded.pairs, pairs);
    }),
    { numRuns: 300 },
  );
});

test('random bytes never throw in the decoder', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      const result = decodeNameValuePairBytes(Buffer.from(bytes));
      if (!result.ok) assert.ok(result.offset >= 0 && result.offset < bytes.length);
    }),
    { numRuns: 500 },
  );
});

test('output is byte-identical to fastcgi-client stringifykv over random maps', () => {
  const key = text.filter((k) => k !== '__proto__');
  fc.assert(
    fc.property(fc.dictionary(key, text, { maxKeys: 10 }), (map) => {
      const theirs = stringifyKv(map);
      const ours = encodeNameValuePairs(Object.entries(map));
      assert.ok(ours.equals(theirs), `differs for ${JSON.stringify(map)}`);
    }),
    { numRuns: 300 },
  );
});
