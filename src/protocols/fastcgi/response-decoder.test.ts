// Tests for the streaming FastCGI response decoder: every record type, every split, every error path.
// Not CGI head tests (cgi/response-head.test.ts).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FastCgiResponseDecoder } from './response-decoder.ts';
import type { FastCgiDecodeErrorCode } from './response-decoder.ts';
import { RecordType } from './record.ts';
import { cutAt } from '../test-helpers.ts';

function record(type: number, content: Buffer | string, options: { requestId?: number; padding?: number } = {}): Buffer {
  const body = typeof content === 'string' ? Buffer.from(content) : content;
  const padding = options.padding ?? (-body.length & 7);
  const header = Buffer.from([1, type, 0, 0, body.length >> 8, body.length & 0xff, padding, 0]);
  header.writeUInt16BE(options.requestId ?? 1, 2);
  return Buffer.concat([header, body, Buffer.alloc(padding, 0xaa)]);
}

function endRequest(appStatus: number, protocolStatus = 0, padding?: number): Buffer {
  const body = Buffer.alloc(8);
  body.writeUInt32BE(appStatus, 0);
  body[4] = protocolStatus;
  return record(RecordType.END_REQUEST, body, { padding: padding ?? 0 });
}

type Event =
  | ['stdout', string]
  | ['stderr', string]
  | ['end', number, number]
  | ['error', FastCgiDecodeErrorCode, string];

function collector(requestId = 1) {
  const events: Event[] = [];
  const slices: Buffer[] = [];
  const decoder = new FastCgiResponseDecoder(
    {
      stdout: (data) => {
        slices.push(data);
        events.push(['stdout', data.toString('latin1')]);
      },
      stderr: (data) => events.push(['stderr', data.toString('latin1')]),
      end: (app, protocol) => events.push(['end', app, protocol]),
      error: (code, message) => events.push(['error', code, message]),
    },
    { requestId },
  );
  return { decoder, events, slices };
}

/** Adjacent stdout/stderr events merged, so results compare across any split. */
function merged(events: Event[]): Event[] {
  const out: Event[] = [];
  for (const e of events) {
    const last = out.at(-1);
    if (last && (e[0] === 'stdout' || e[0] === 'stderr') && last[0] === e[0]) {
      (last as [string, string])[1] += e[1];
    } else out.push([...e] as Event);
  }
  return out;
}

function decode(chunks: Buffer[], requestId = 1): Event[] {
  const { decoder, events } = collector(requestId);
  for (const c of chunks) decoder.push(c);
  decoder.finish();
  return merged(events);
}

const stream = Buffer.concat([
  record(RecordType.STDERR, 'PHP Notice: something\n'),
  record(RecordType.STDOUT, 'Status: 201 Created\r\nContent-Type: text/plain\r\n\r\n'),
  record(RecordType.STDOUT, 'hello, '),
  record(RecordType.STDERR, ''),
  record(RecordType.STDOUT, 'world', { padding: 13 }),
  record(RecordType.STDOUT, ''),
  endRequest(0x01020304, 0, 4),
]);
const expected: Event[] = [
  ['stderr', 'PHP Notice: something\n'],
  ['stdout', 'Status: 201 Created\r\nContent-Type: text/plain\r\n\r\nhello, world'],
  ['end', 0x01020304, 0],
];

test('a whole stream decodes, stdout comes out as slices of the input', () => {
  const { decoder, events, slices } = collector();
  decoder.push(stream);
  assert.ok(decoder.ended);
  assert.ok(decoder.stdoutEnded);
  decoder.finish();
  assert.deepEqual(merged(events), expected);
  for (const s of slices) assert.equal(s.buffer, stream.buffer);
});

test('one byte at a time', () => {
  const bytes: Buffer[] = [];
  for (let i = 0; i < stream.length; i++) bytes.push(stream.subarray(i, i + 1));
  assert.deepEqual(decode(bytes), expected);
});

test('split at every pair of offsets', () => {
  for (let i = 0; i <= stream.length; i++) {
    for (let j = i; j <= stream.length; j += 3) {
      assert.deepEqual(decode([stream.subarray(0, i), stream.subarray(i, j), stream.subarray(j)]), expected, `split ${i}/${j}`);
    }
  }
});

test('END_REQUEST fields are read unsigned; a longer END_REQUEST body is accepted', () => {
  assert.deepEqual(decode([endRequest(0xffffffff, 3)]), [['end', 0xffffffff, 3]]);
  const long = Buffer.alloc(12);
  long.writeUInt32BE(7, 0);
  assert.deepEqual(decode([record(RecordType.END_REQUEST, long)]), [['end', 7, 0]]);
});

function errorOf(chunks: Buffer[], requestId = 1): FastCgiDecodeErrorCode | undefined {
  const events = decode(chunks, requestId);
  const errors = events.filter((e) => e[0] === 'error');
  assert.ok(errors.length <= 1, 'at most one error');
  if (errors.length === 1) assert.equal(events.at(-1)![0], 'error', 'nothing after the error');
  return errors[0]?.[1] as FastCgiDecodeErrorCode | undefined;
}

test('wrong version is caught at the first byte', () => {
  assert.equal(errorOf([Buffer.from([2])]), 'fastcgi-bad-version');
  assert.equal(errorOf([Buffer.from('HTTP/1.1 200 OK\r\n')]), 'fastcgi-bad-version');
});

test('unexpected and unknown record types', () => {
  for (const type of [RecordType.BEGIN_REQUEST, RecordType.PARAMS, RecordType.STDIN, RecordType.GET_VALUES_RESULT]) {
    assert.equal(errorOf([record(type, 'x')]), 'fastcgi-unexpected-record-type');
  }
  assert.equal(errorOf([record(0, 'x')]), 'fastcgi-unknown-record-type');
  assert.equal(errorOf([record(42, 'x')]), 'fastcgi-unknown-record-type');
  assert.equal(errorOf([Buffer.from([1, 42])]), 'fastcgi-unknown-record-type');
});

test('request id mismatch', () => {
  assert.equal(errorOf([record(RecordType.STDOUT, 'x', { requestId: 2 })]), 'fastcgi-request-id-mismatch');
  assert.equal(errorOf([record(RecordType.STDOUT, 'x', { requestId: 0x0101 })]), 'fastcgi-request-id-mismatch');
  assert.deepEqual(decode([record(RecordType.STDOUT, 'x', { requestId: 2 })], 2)[0], ['stdout', 'x']);
});

test('END_REQUEST body shorter than 8 bytes', () => {
  assert.equal(errorOf([record(RecordType.END_REQUEST, Buffer.alloc(4))]), 'fastcgi-bad-end-request');
});

test('data after END_REQUEST, in the same chunk or a later one, after end was reported', () => {
  for (const chunks of [[Buffer.concat([endRequest(0), Buffer.from([1])])], [endRequest(0), Buffer.from([1])]]) {
    const events = decode(chunks);
    assert.deepEqual(events[0], ['end', 0, 0]);
    assert.equal(events[1]![1], 'fastcgi-data-after-end');
  }
});

test('truncation: inside a record, before END_REQUEST, inside END_REQUEST padding', () => {
  assert.equal(errorOf([]), 'fastcgi-truncated');
  assert.equal(errorOf([stream.subarray(0, 5)]), 'fastcgi-truncated');
  const full = record(RecordType.STDOUT, 'abc');
  assert.equal(errorOf([full.subarray(0, 10)]), 'fastcgi-truncated');
  assert.equal(errorOf([full]), 'fastcgi-truncated');
  assert.equal(errorOf([stream.subarray(0, stream.length - 1)]), 'fastcgi-truncated');
  assert.equal(errorOf([stream]), undefined);
});

test('after an error further input is ignored', () => {
  const { decoder, events } = collector();
  decoder.push(Buffer.from([9]));
  decoder.push(stream);
  decoder.finish();
  assert.equal(events.length, 1);
  assert.ok(decoder.failed);
});

test('reset() readies the decoder for the next request on the connection', () => {
  const { decoder, events } = collector();
  decoder.push(stream);
  decoder.reset(2);
  decoder.push(Buffer.concat([record(RecordType.STDOUT, 'again', { requestId: 2 }), (() => {
    const e = endRequest(0);
    e.writeUInt16BE(2, 2);
    return e;
  })()]));
  decoder.finish();
  assert.deepEqual(merged(events).slice(3), [['stdout', 'again'], ['end', 0, 0]]);
});

const piece = fc.record({
  type: fc.constantFrom(RecordType.STDOUT, RecordType.STDERR),
  data: fc.uint8Array({ maxLength: 300 }),
  padding: fc.integer({ min: 0, max: 255 }),
});

test('random record sequences decode to their content under random splits', () => {
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 6 }), (pieces, points) => {
      const bytes = Buffer.concat([
        ...pieces.map((p) => record(p.type, Buffer.from(p.data), { padding: p.padding })),
        endRequest(5, 0, 3),
      ]);
      const want: Event[] = merged(
        pieces
          .filter((p) => p.data.length > 0)
          .map((p): Event => [p.type === RecordType.STDOUT ? 'stdout' : 'stderr', Buffer.from(p.data).toString('latin1')]),
      );
      want.push(['end', 5, 0]);
      assert.deepEqual(decode(cutAt(bytes, points)), want);
    }),
    { numRuns: 300 },
  );
});

function checkInvariants(chunks: Buffer[]): void {
  const { decoder, events } = collector();
  for (const c of chunks) decoder.push(c);
  decoder.finish();
  assert.ok(decoder.ended || decoder.failed);
  const errorAt = events.findIndex((e) => e[0] === 'error');
  if (errorAt >= 0) assert.equal(errorAt, events.length - 1);
  assert.ok(events.filter((e) => e[0] === 'end').length <= 1);
}

test('random garbage never throws and ends in end or error', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 5 }), (chunks) => {
      checkInvariants(chunks.map((c) => Buffer.from(c)));
    }),
    { numRuns: 500 },
  );
});

test('random truncations and mutations of a valid stream never throw', () => {
  fc.assert(
    fc.property(
      fc.nat({ max: stream.length }),
      fc.array(fc.tuple(fc.nat({ max: stream.length - 1 }), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }),
      fc.array(fc.nat(), { maxLength: 4 }),
      (length, mutations, points) => {
        const bytes = Buffer.from(stream);
        for (const [at, value] of mutations) bytes[at] = value;
        checkInvariants(cutAt(bytes.subarray(0, length), points));
      },
    ),
    { numRuns: 500 },
  );
});
