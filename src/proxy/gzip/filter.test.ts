// The gzip body filter over a plain Writable standing in for a response: a whole body in one end(), pieces written
// with backpressure honoured both ways (random chunking and a slow consumer, checked as a property: the output
// always decodes to the input), the flush when the producer pauses, byte counts for $gzip_ratio, and a response
// destroyed midway. Not the header decision (decide.test.ts) nor the HTTP wiring (test/integration/gzip.test.ts).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { gunzipSync, constants, createGunzip } from 'node:zlib';
import fc from 'fast-check';
import { GzipFilter } from './filter.ts';

function sink(highWaterMark = 1024, slow = true): { out: Writable; bytes: () => Buffer } {
  const parts: Buffer[] = [];
  const out = new Writable({
    highWaterMark,
    write(chunk: Buffer, _enc, cb) {
      parts.push(chunk);
      if (slow) setImmediate(cb);
      else cb();
    },
  });
  return { out, bytes: () => Buffer.concat(parts) };
}

function install(out: Writable, level = 1): { counts: () => [number, number] } {
  let counts: [number, number] = [-1, -1];
  new GzipFilter(out as unknown as ConstructorParameters<typeof GzipFilter>[0], level, (i, o) => (counts = [i, o]));
  return { counts: () => counts };
}

async function produce(out: Writable, chunks: Buffer[]): Promise<void> {
  for (const c of chunks) if (!out.write(c)) await once(out, 'drain');
  out.end();
  await once(out, 'finish');
}

test('a body given whole to end() is compressed in one piece', async () => {
  const { out, bytes } = sink();
  const f = install(out, 9);
  const body = Buffer.from('hello gzip '.repeat(200));
  out.end(body);
  await once(out, 'finish');
  assert.deepEqual(gunzipSync(bytes()), body);
  assert.deepEqual(f.counts(), [body.length, bytes().length]);
});

test('end() without a body sends an empty gzip member', async () => {
  const { out, bytes } = sink();
  install(out);
  out.end();
  await once(out, 'finish');
  assert.equal(gunzipSync(bytes()).length, 0);
});

test('pieces with backpressure always decode to the input (random chunking, slow response)', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.uint8Array({ minLength: 0, maxLength: 40_000 }), { maxLength: 12 }), fc.integer({ min: 16, max: 65536 }), async (arrays, hwm) => {
      const { out, bytes } = sink(hwm);
      const f = install(out);
      const chunks = arrays.map((a) => Buffer.from(a));
      await produce(out, chunks);
      const input = Buffer.concat(chunks);
      assert.deepEqual(gunzipSync(bytes()), input);
      assert.deepEqual(f.counts(), [input.length, bytes().length]);
    }),
    { numRuns: 40 },
  );
});

test('a producer that honours write() and drain never has much buffered in zlib', async () => {
  const { out } = sink(16, true);
  install(out);
  const chunk = Buffer.alloc(64 * 1024, 'a');
  let refused = 0;
  for (let i = 0; i < 50; i++) {
    if (!out.write(chunk)) {
      refused++;
      await once(out, 'drain');
    }
  }
  out.end();
  await once(out, 'finish');
  assert.ok(refused > 0, 'write() returned false at least once');
});

test('what is written is flushed to the response when the producer pauses (streamed answers are not held)', async () => {
  const { out, bytes } = sink(1024, false);
  install(out);
  out.write(Buffer.from('data: first event\n\n'));
  await new Promise((r) => setTimeout(r, 20));
  const gunzip = createGunzip({ finishFlush: constants.Z_SYNC_FLUSH });
  const got: Buffer[] = [];
  gunzip.on('data', (d: Buffer) => got.push(d));
  gunzip.end(bytes());
  await once(gunzip, 'end');
  assert.equal(Buffer.concat(got).toString(), 'data: first event\n\n');
  out.end();
  await once(out, 'finish');
});

test('a response destroyed midway stops the compressor without an error thrown', async () => {
  const { out } = sink(16, true);
  install(out);
  out.write(Buffer.alloc(100_000, 'x'));
  out.destroy();
  await once(out, 'close');
  assert.equal(out.write(Buffer.from('more')), false);
});
