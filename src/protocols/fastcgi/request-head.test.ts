// Tests for the FastCGI request-head encoder: BEGIN_REQUEST, PARAMS record splitting and padding.
// Not name-value pair tests (name-value.test.ts) or body framing tests (stdin.test.ts).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodeRequestHead } from './request-head.ts';
import { decodeNameValuePairs } from './name-value.ts';
import { FCGI_KEEP_CONN, RecordType, Role } from './record.ts';

const codePoint = fc
  .oneof(fc.integer({ min: 0, max: 0x7f }), fc.integer({ min: 0x80, max: 0xd7ff }), fc.integer({ min: 0xe000, max: 0x10ffff }))
  .map((c) => String.fromCodePoint(c));

interface Record {
  type: number;
  requestId: number;
  content: Buffer;
  padding: Buffer;
}

function records(bytes: Buffer): Record[] {
  const out: Record[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    assert.equal(bytes[pos], 1, 'version');
    const contentLength = bytes.readUInt16BE(pos + 4);
    const paddingLength = bytes[pos + 6]!;
    assert.equal(bytes[pos + 7], 0, 'reserved byte');
    const content = bytes.subarray(pos + 8, pos + 8 + contentLength);
    const padding = bytes.subarray(pos + 8 + contentLength, pos + 8 + contentLength + paddingLength);
    out.push({ type: bytes[pos + 1]!, requestId: bytes.readUInt16BE(pos + 2), content, padding });
    pos += 8 + contentLength + paddingLength;
  }
  assert.equal(pos, bytes.length, 'records end exactly at the buffer end');
  return out;
}

function paramsOf(recs: Record[]): Buffer {
  return Buffer.concat(recs.filter((r) => r.type === RecordType.PARAMS).map((r) => r.content));
}

test('BEGIN_REQUEST, PARAMS and the empty PARAMS in one buffer', () => {
  const head = encodeRequestHead([
    ['SCRIPT_FILENAME', '/srv/index.php'],
    ['REQUEST_METHOD', 'GET'],
  ]);
  const recs = records(head);
  assert.equal(recs.length, 3);
  assert.equal(recs[0]!.type, RecordType.BEGIN_REQUEST);
  assert.deepEqual([...recs[0]!.content], [0, Role.RESPONDER, 0, 0, 0, 0, 0, 0]);
  assert.equal(recs[1]!.type, RecordType.PARAMS);
  assert.equal((recs[1]!.content.length + recs[1]!.padding.length) % 8, 0);
  assert.deepEqual(recs[2], { type: RecordType.PARAMS, requestId: 1, content: Buffer.alloc(0), padding: Buffer.alloc(0) });
  assert.deepEqual(decodeNameValuePairs(recs[1]!.content), {
    ok: true,
    pairs: [
      ['SCRIPT_FILENAME', '/srv/index.php'],
      ['REQUEST_METHOD', 'GET'],
    ],
  });
});

test('keepConn sets FCGI_KEEP_CONN; request id and role are carried', () => {
  const recs = records(encodeRequestHead([], { keepConn: true, requestId: 0x1234, role: Role.AUTHORIZER }));
  assert.equal(recs.length, 2);
  assert.deepEqual([...recs[0]!.content.subarray(0, 3)], [0, Role.AUTHORIZER, FCGI_KEEP_CONN]);
  for (const r of recs) assert.equal(r.requestId, 0x1234);
  assert.equal(recs[1]!.content.length, 0);
});

test('params larger than a record spread over several, pairs kept whole, padded to 8, all within 65535', () => {
  const params: Array<[string, string]> = [];
  for (let i = 0; i < 40; i++) params.push([`HTTP_X_${i}`, String.fromCharCode(97 + (i % 26)).repeat(5000 + i)]);
  const recs = records(encodeRequestHead(params));
  const paramRecords = recs.filter((r) => r.type === RecordType.PARAMS && r.content.length > 0);
  assert.ok(paramRecords.length >= 3);
  const seen: Array<[string, string]> = [];
  for (const r of paramRecords) {
    assert.ok(r.content.length + r.padding.length <= 65535);
    assert.equal((r.content.length + r.padding.length) % 8, 0);
    assert.ok(r.padding.every((b) => b === 0));
    const decoded = decodeNameValuePairs(r.content);
    assert.ok(decoded.ok, 'each record holds whole pairs');
    seen.push(...decoded.pairs);
  }
  assert.deepEqual(seen, params);
});

test('a pair larger than a record is split across records and still decodes from the stream', () => {
  const params: Array<[string, string]> = [
    ['A', '1'],
    ['HUGE', 'h'.repeat(150_000)],
    ['B', '2'],
  ];
  const recs = records(encodeRequestHead(params));
  for (const r of recs) assert.ok(r.content.length <= 65528);
  assert.deepEqual(decodeNameValuePairs(paramsOf(recs)), { ok: true, pairs: params });
});

test('record boundary exactly at 65528 content bytes', () => {
  const value = 'v'.repeat(65528 - 2 - 4);
  const recs = records(encodeRequestHead([['K', value], ['L', 'x']]));
  const paramRecords = recs.filter((r) => r.type === RecordType.PARAMS);
  assert.deepEqual(
    paramRecords.map((r) => r.content.length),
    [65528, 4, 0],
  );
  assert.equal(paramRecords[0]!.padding.length, 0);
});

test('padding bytes are zero even when the pool holds garbage', () => {
  Buffer.allocUnsafe(4000).fill(0xee);
  for (let length = 0; length < 16; length++) {
    const recs = records(encodeRequestHead([['N', 'x'.repeat(length)]]));
    for (const r of recs) assert.ok(r.padding.every((b) => b === 0));
    assert.ok(recs[0]!.content.subarray(3).every((b) => b === 0));
  }
});

test('decoding the PARAMS stream gives back the params, for any params and request id', () => {
  const text = fc.oneof(
    fc.string({ unit: codePoint, maxLength: 30 }),
    fc.tuple(fc.string({ minLength: 1, maxLength: 3 }), fc.integer({ min: 30, max: 3000 })).map(([s, n]) => s.repeat(n)),
  );
  fc.assert(
    fc.property(fc.array(fc.tuple(text, text), { maxLength: 30 }), fc.integer({ min: 1, max: 65535 }), (params, requestId) => {
      const recs = records(encodeRequestHead(params, { requestId }));
      for (const r of recs) assert.equal(r.requestId, requestId);
      assert.deepEqual(recs.at(-1)!.content.length, 0);
      assert.deepEqual(decodeNameValuePairs(paramsOf(recs)), { ok: true, pairs: params });
    }),
    { numRuns: 200 },
  );
});
