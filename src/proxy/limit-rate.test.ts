// The limit_rate throttle over a plain Writable standing in for a response: pace (nginx's per-second allowance and
// pause after each write), backpressure (a producer that honours write() and 'drain' never has more than one chunk
// held by the throttle), write callbacks, and end() with a large body. Not the HTTP wiring (limits.test.ts).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { ResponseThrottle } from './limit-rate.ts';

function sink(): { out: Writable; passed: () => number; writes: number[] } {
  let passed = 0;
  const writes: number[] = [];
  const out = new Writable({
    highWaterMark: 16 * 1024,
    write(chunk: Buffer, _enc, cb) {
      passed += chunk.length;
      writes.push(chunk.length);
      setImmediate(cb);
    },
  });
  return { out, passed: () => passed, writes };
}

function throttle(out: Writable, rate: number, after = 0): void {
  new ResponseThrottle(out as unknown as ConstructorParameters<typeof ResponseThrottle>[0], rate, after, performance.timeOrigin + performance.now());
}

test('256 KiB in 32 KiB writes at 256 KiB/s: a pause of 125 ms after each, one chunk held at most, callbacks run', async () => {
  const { out, passed } = sink();
  throttle(out, 256 * 1024);
  const chunk = 32 * 1024;
  let produced = 0;
  let held = 0;
  let callbacks = 0;
  const start = performance.now();
  for (let i = 0; i < 8; i++) {
    const ok = out.write(Buffer.alloc(chunk, i), () => callbacks++);
    produced += chunk;
    held = Math.max(held, produced - passed());
    if (!ok) await new Promise((r) => out.once('drain', r));
  }
  await new Promise<void>((r) => out.end(r));
  const seconds = (performance.now() - start) / 1000;
  assert.equal(passed(), 256 * 1024);
  assert.equal(callbacks, 8);
  assert.ok(held <= chunk, `throttle held ${held} bytes`);
  assert.ok(seconds > 0.95 && seconds < 1.4, `8 x 125 ms: took ${seconds.toFixed(2)} s`);
});

test('end() with one large body is throttled too; limit_rate_after lets the first bytes through at once', async () => {
  const { out, passed, writes } = sink();
  throttle(out, 64 * 1024, 64 * 1024);
  const start = performance.now();
  const finished = new Promise<void>((r) => out.once('finish', r));
  out.end(Buffer.alloc(192 * 1024));
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(passed(), 128 * 1024, 'limit_rate_after plus the first second allowance');
  await finished;
  const seconds = (performance.now() - start) / 1000;
  assert.equal(passed(), 192 * 1024);
  assert.deepEqual(writes, [128 * 1024, 64 * 1024]);
  assert.ok(seconds > 0.9 && seconds < 1.4, `took ${seconds.toFixed(2)} s`);
});

test('a closed response drops what the throttle holds and arms no more timers', async () => {
  const { out, passed } = sink();
  throttle(out, 1024);
  out.write(Buffer.alloc(4096));
  assert.equal(passed(), 1024);
  out.destroy();
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(passed(), 1024);
});
