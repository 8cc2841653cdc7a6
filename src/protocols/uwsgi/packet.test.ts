// Tests for the uwsgi packet encoder and vars decoder: layout, limits, round trips, garbage.
// Not HTTP response tests: uwsgi answers are parsed by http1/response-head.ts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodeUwsgiPacket } from './packet.ts';
import { decodeUwsgiHeader, decodeUwsgiVars } from './vars-decoder.ts';

const codePoint = fc
  .oneof(fc.integer({ min: 0, max: 0x7f }), fc.integer({ min: 0x80, max: 0xd7ff }), fc.integer({ min: 0xe000, max: 0x10ffff }))
  .map((c) => String.fromCodePoint(c));

test('header and vars layout, little-endian lengths', () => {
  const result = encodeUwsgiPacket([
    ['REQUEST_METHOD', 'GET'],
    ['QUERY_STRING', ''],
  ]);
  assert.ok(result.ok);
  const expected = Buffer.concat([
    Buffer.from([0, 37, 0, 0]),
    Buffer.from([14, 0]),
    Buffer.from('REQUEST_METHOD'),
    Buffer.from([3, 0]),
    Buffer.from('GET'),
    Buffer.from([12, 0]),
    Buffer.from('QUERY_STRING'),
    Buffer.from([0, 0]),
  ]);
  assert.deepEqual(result.packet, expected);
});

test('modifiers are carried; sizes above 255 use both bytes', () => {
  const result = encodeUwsgiPacket([['K', 'v'.repeat(300)]], { modifier1: 5, modifier2: 9 });
  assert.ok(result.ok);
  assert.deepEqual(decodeUwsgiHeader(result.packet), { modifier1: 5, size: 305, modifier2: 9 });
  assert.deepEqual([...result.packet.subarray(7, 9)], [300 & 0xff, 300 >> 8]);
  assert.equal(decodeUwsgiHeader(Buffer.from([1, 2, 3])), null);
});

test('lengths count UTF-8 bytes; Buffer values pass through', () => {
  const result = encodeUwsgiPacket([['PATH_INFO', '/café/😀'], ['BIN', Buffer.from([0, 255])]]);
  assert.ok(result.ok);
  const decoded = decodeUwsgiVars(result.packet.subarray(4));
  assert.ok(decoded.ok);
  assert.deepEqual(decoded.vars[0], ['PATH_INFO', '/café/😀']);
  assert.equal(result.packet.readUInt16LE(4 + 2 + 9), Buffer.byteLength('/café/😀'));
});

test('exactly 65535 bytes of vars fit; one more is refused with the largest var named', () => {
  const fits = encodeUwsgiPacket([['A', 'x'.repeat(65535 - 4 - 1)]]);
  assert.ok(fits.ok);
  assert.equal(fits.packet.readUInt16LE(1), 65535);
  const over = encodeUwsgiPacket([
    ['REQUEST_URI', '/' + 'u'.repeat(40000)],
    ['HTTP_COOKIE', 'c'.repeat(20000)],
    ['HTTP_X', 'y'.repeat(6000)],
  ]);
  assert.deepEqual(over, { ok: false, size: 4 + 11 + 40001 + 4 + 11 + 20000 + 4 + 6 + 6000, largest: { name: 'REQUEST_URI', size: 4 + 11 + 40001 } });
  const single = encodeUwsgiPacket([['HTTP_HUGE', 'h'.repeat(70000)]]);
  assert.equal(single.ok, false);
  assert.equal(!single.ok && single.largest.name, 'HTTP_HUGE');
});

test('decode(encode(vars)) is the identity', () => {
  const text = fc.oneof(
    fc.string({ unit: codePoint, maxLength: 20 }),
    fc.tuple(fc.string({ minLength: 1, maxLength: 2 }), fc.integer({ min: 100, max: 2000 })).map(([s, n]) => s.repeat(n)),
  );
  fc.assert(
    fc.property(fc.array(fc.tuple(text, text), { maxLength: 15 }), fc.nat({ max: 255 }), (vars, modifier1) => {
      const result = encodeUwsgiPacket(vars, { modifier1 });
      assert.ok(result.ok);
      const header = decodeUwsgiHeader(result.packet)!;
      assert.equal(header.size, result.packet.length - 4);
      assert.equal(header.modifier1, modifier1);
      assert.deepEqual(decodeUwsgiVars(result.packet.subarray(4)), { ok: true, vars });
    }),
    { numRuns: 200 },
  );
});

test('truncated and random blocks are reported, never thrown', () => {
  const result = encodeUwsgiPacket([['NAME', 'value'], ['X', 'y']]);
  assert.ok(result.ok);
  const block = result.packet.subarray(4);
  for (let cut = 1; cut < block.length; cut++) {
    if (cut === 2 + 4 + 2 + 5) continue;
    assert.equal(decodeUwsgiVars(block.subarray(0, cut)).ok, false, `cut at ${cut}`);
  }
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      decodeUwsgiVars(Buffer.from(bytes));
    }),
    { numRuns: 500 },
  );
});
