// Tests for STDIN framing, the STDIN terminator and ABORT_REQUEST.
// Not request-head tests (request-head.test.ts).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodeStdin, encodeStdinEnd } from './stdin.ts';
import { encodeAbortRequest } from './abort.ts';
import { RecordType } from './record.ts';

function unframe(pieces: Buffer[], requestId: number): Buffer {
  const bytes = Buffer.concat(pieces);
  const content: Buffer[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    assert.equal(bytes[pos], 1);
    assert.equal(bytes[pos + 1], RecordType.STDIN);
    assert.equal(bytes.readUInt16BE(pos + 2), requestId);
    const length = bytes.readUInt16BE(pos + 4);
    const padding = bytes[pos + 6]!;
    assert.ok(length > 0 && length <= 65528, 'no empty record, no oversized record');
    assert.equal((length + padding) % 8, 0);
    content.push(bytes.subarray(pos + 8, pos + 8 + length));
    assert.ok(bytes.subarray(pos + 8 + length, pos + 8 + length + padding).every((b) => b === 0));
    pos += 8 + length + padding;
  }
  return Buffer.concat(content);
}

test('an empty chunk yields nothing (an empty STDIN record would end the body)', () => {
  assert.deepEqual(encodeStdin(Buffer.alloc(0)), []);
});

test('a small chunk: header, the payload itself (no copy), padding', () => {
  const data = Buffer.from('hello');
  const pieces = encodeStdin(data, 7);
  assert.equal(pieces.length, 3);
  assert.deepEqual([...pieces[0]!], [1, RecordType.STDIN, 0, 7, 0, 5, 3, 0]);
  assert.equal(pieces[1]!.buffer, data.buffer);
  assert.equal(pieces[1]!.byteOffset, data.byteOffset);
  assert.deepEqual([...pieces[2]!], [0, 0, 0]);
});

test('records hold at most 65528 bytes; exact multiples need no padding', () => {
  const exact = encodeStdin(Buffer.alloc(65528, 1));
  assert.equal(exact.length, 2);
  const over = encodeStdin(Buffer.alloc(65529, 2));
  assert.equal(over.length, 5);
  assert.equal(over[2]!.readUInt16BE(4), 1);
  assert.equal(over[2]![6], 7);
  assert.deepEqual(unframe(over, 1), Buffer.alloc(65529, 2));
});

test('unframing the pieces gives back the data, for any size', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 200_000 }), fc.integer({ min: 1, max: 65535 }), (size, requestId) => {
      const data = Buffer.alloc(size);
      for (let i = 0; i < size; i += 997) data[i] = i & 0xff;
      assert.deepEqual(unframe(encodeStdin(data, requestId), requestId), data);
    }),
    { numRuns: 60 },
  );
});

test('STDIN terminator and ABORT_REQUEST are bare headers', () => {
  assert.deepEqual([...encodeStdinEnd(3)], [1, RecordType.STDIN, 0, 3, 0, 0, 0, 0]);
  assert.deepEqual([...encodeAbortRequest(0x0102)], [1, RecordType.ABORT_REQUEST, 1, 2, 0, 0, 0, 0]);
  assert.deepEqual([...encodeStdinEnd()], [1, RecordType.STDIN, 0, 1, 0, 0, 0, 0]);
});
