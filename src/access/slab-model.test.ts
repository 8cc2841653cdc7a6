// The slab model against capacities measured on nginx 1.22 (a limit_req zone of rate=1r/m filled with distinct keys
// until the first one is evicted) and the page arithmetic behind them. Not a test of the zones themselves.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SlabModel, zonePages } from './slab-model.ts';

function capacity(size: number, nodeBytes: number, zoneSetup: number[]): number {
  const slab = new SlabModel(size);
  for (const b of zoneSetup) slab.alloc(b);
  let n = 0;
  while (slab.alloc(nodeBytes)) n++;
  return n;
}

test('pages of a zone: header, page descriptors, first page aligned', () => {
  assert.equal(zonePages(32 * 1024), 7);
  assert.equal(zonePages(64 * 1024), 15);
  assert.equal(zonePages(1024 * 1024), 254);
});

test('limit_req states that fit, as measured on nginx 1.22', () => {
  const setup = [80, 23];
  assert.equal(capacity(32 * 1024, 80 + 8, setup), 191);
  assert.equal(capacity(32 * 1024, 80 + 60, setup), 80);
  assert.equal(capacity(64 * 1024, 80 + 8, setup), 447);
});

test('freed chunks and emptied pages are reused', () => {
  const slab = new SlabModel(32 * 1024);
  const got = [];
  for (let c = slab.alloc(128); c; c = slab.alloc(128)) got.push(c);
  assert.equal(got.length, 7 * 32);
  for (const c of got) slab.free(c);
  let small = 0;
  while (slab.alloc(32)) small++;
  assert.equal(small, 7 * 127, 'every page back in the pool, 127 chunks of 32 bytes a page (one holds the bitmap)');
});
