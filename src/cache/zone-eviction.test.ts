// The cache manager and the keys_zone bound: inactive expiry (fake clock), max_size and min_free eviction of the
// least recently used entries, the periodic timer, and the index's entry-count limit deleting evicted files.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { computeFreshness } from './freshness.ts';
import { CacheZone, type CacheZoneOptions } from './zone.ts';

type T = { after: (fn: () => Promise<void>) => void };

async function setup(t: T, options: Partial<CacheZoneOptions> = {}) {
  const path = await mkdtemp(join(tmpdir(), 'portico-evict-'));
  const zone = await CacheZone.open({ path, keysZone: { name: 'z', size: 1 << 20 }, levels: '1:2', ...options });
  t.after(async () => {
    await zone.close();
    await rm(path, { recursive: true, force: true });
  });
  await zone.whenLoaded();
  return { path, zone };
}

function store(zone: CacheZone, key: string, bytes = 100): Promise<boolean> {
  const freshness = computeFreshness(200, [], [], [{ codes: 'any', seconds: 3600 }], Date.now());
  const w = zone.beginWrite(key, { status: 200, headers: [], freshness });
  w.write(Buffer.alloc(bytes, 0x61));
  return w.commit();
}

async function present(zone: CacheZone, key: string): Promise<boolean> {
  const r = await zone.lookup(key);
  if (r.state !== 'miss') await r.close();
  return r.state !== 'miss';
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

test('inactive: entries unused for longer than inactive are removed from disk', async (t) => {
  let now = 1_700_000_000_000;
  const { zone } = await setup(t, { inactive: 60_000, clock: () => now });
  await store(zone, 'used');
  await store(zone, 'idle');
  now += 30_000;
  assert.equal(await present(zone, 'used'), true);
  now += 40_000;
  assert.deepEqual(await zone.maintain(), { inactive: 1, evicted: 0 });
  assert.equal(await exists(zone.pathFor('idle')), false);
  assert.equal(await exists(zone.pathFor('used')), true);
  now += 61_000;
  assert.deepEqual(await zone.maintain(), { inactive: 1, evicted: 0 });
  assert.equal(zone.stats().files, 0);
});

test('max_size: the least recently used entries go until the zone fits', async (t) => {
  const probe = await setup(t);
  await store(probe.zone, 'one', 3000);
  const perEntry = probe.zone.stats().bytes;
  assert.ok(perEntry > 0);

  const { zone } = await setup(t, { maxSize: perEntry * 3 });
  for (const k of ['a', 'b', 'c', 'd', 'e']) await store(zone, k, 3000);
  assert.equal(await present(zone, 'a'), true);
  const report = await zone.maintain();
  assert.deepEqual(report, { inactive: 0, evicted: 2 });
  assert.deepEqual(
    await Promise.all(['a', 'b', 'c', 'd', 'e'].map((k) => present(zone, k))),
    [true, false, false, true, true],
  );
  assert.ok(zone.stats().bytes <= perEntry * 3);
});

test('min_free: when the filesystem has less free space than asked, entries are evicted', async (t) => {
  const { zone } = await setup(t, { minFree: Number.MAX_SAFE_INTEGER, managerFiles: 2 });
  for (let i = 0; i < 5; i++) await store(zone, `k${i}`);
  const report = await zone.maintain();
  assert.equal(report.evicted, 5);
  assert.equal(zone.stats().files, 0);
});

test('the manager runs by itself on its interval', async (t) => {
  const { zone } = await setup(t, { inactive: 30, managerInterval: 20 });
  await store(zone, 'short-lived');
  const deadline = Date.now() + 3000;
  while ((await exists(zone.pathFor('short-lived'))) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(await exists(zone.pathFor('short-lived')), false);
});

test('keys_zone bound: the index holds about 8000 keys per megabyte and evicted entries leave the disk', async (t) => {
  const { zone, path } = await setup(t, { keysZone: { name: 'small', size: 8192 } });
  assert.equal(zone.stats().maxKeys, 62);
  for (let i = 0; i < 70; i++) await store(zone, `k${i}`);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(zone.stats().keys, 62);
  const files = (await readdir(path, { withFileTypes: true, recursive: true })).filter(
    (e) => e.isFile() && !e.parentPath.endsWith('/temp'),
  );
  assert.equal(files.length, 62);
  assert.equal(await present(zone, 'k0'), false);
  assert.equal(await present(zone, 'k69'), true);
});
