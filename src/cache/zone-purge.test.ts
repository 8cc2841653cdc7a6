// Purges on a real zone: prefix (ngx_cache_purge's trailing '*'), all, tags, during the index rebuild, and through
// the Invalidator seam. Exact purges of Vary variants are covered in zone.test.ts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { computeFreshness } from './freshness.ts';
import { LocalInvalidator, purgeTarget, type Invalidation, type Invalidator } from './invalidator.ts';
import type { RequestHeaderSource } from './vary.ts';
import { CacheZone, type CacheZoneOptions } from './zone.ts';

type T = { after: (fn: () => Promise<void>) => void };

async function setup(t: T, options: Partial<CacheZoneOptions> = {}, dir?: string) {
  const path = dir ?? (await mkdtemp(join(tmpdir(), 'portico-purge-')));
  const zone = await CacheZone.open({ path, keysZone: { name: 'z', size: 1 << 20 }, levels: '2', ...options });
  t.after(async () => {
    await zone.close();
    if (!dir) await rm(path, { recursive: true, force: true });
  });
  return { path, zone };
}

function store(zone: CacheZone, key: string, tags: string[] = [], headers: [string, string][] = [], req: RequestHeaderSource = []) {
  const freshness = computeFreshness(200, headers, [], [{ codes: 'any', seconds: 600 }], Date.now());
  const w = zone.beginWrite(key, { status: 200, headers, freshness, tags }, req);
  w.write(Buffer.from(`body of ${key}`));
  return w.commit();
}

async function entryFiles(dir: string): Promise<number> {
  const all = await readdir(dir, { withFileTypes: true, recursive: true });
  return all.filter((e) => e.isFile() && !e.parentPath.endsWith('/temp')).length;
}

async function missing(zone: CacheZone, key: string): Promise<boolean> {
  const r = await zone.lookup(key);
  if (r.state !== 'miss') await r.close();
  return r.state === 'miss';
}

test('purgePrefix removes keys starting with the prefix, ASCII case-insensitively', async (t) => {
  const { zone, path } = await setup(t);
  await zone.whenLoaded();
  for (const k of ['httpGETexample.com/img/a.png', 'httpGETexample.com/img/b.png', 'httpGETexample.com/IMG/c.png', 'httpGETexample.com/css/x.css']) {
    assert.equal(await store(zone, k), true);
  }
  const target = purgeTarget('z', 'httpGETexample.com/img/*');
  assert.deepEqual(target, { zone: 'z', kind: 'prefix', prefix: 'httpGETexample.com/img/' });
  assert.equal(await zone.purgePrefix('httpGETexample.com/img/'), 3);
  assert.equal(await missing(zone, 'httpGETexample.com/img/a.png'), true);
  assert.equal(await missing(zone, 'httpGETexample.com/css/x.css'), false);
  assert.equal(await entryFiles(path), 1);
  assert.equal(await zone.purgePrefix('nothing/'), 0);
});

test('purgeAll empties the zone in batches without stalling the event loop', async (t) => {
  const { zone, path } = await setup(t, { managerFiles: 4 });
  await zone.whenLoaded();
  for (let i = 0; i < 40; i++) await store(zone, `k${i}`);
  let ticks = 0;
  let running = true;
  const spin = () => {
    ticks++;
    if (running) setImmediate(spin);
  };
  setImmediate(spin);
  const count = await zone.purgeAll();
  running = false;
  assert.equal(count, 40);
  assert.ok(ticks >= 10, `event loop turned ${ticks} times during the purge`);
  assert.equal(await entryFiles(path), 0);
  assert.equal(zone.stats().files, 0);
  assert.equal(zone.stats().bytes, 0);
});

test('purgeTags removes tagged entries, including Vary variants, and the Vary record once empty', async (t) => {
  const { zone, path } = await setup(t);
  await zone.whenLoaded();
  await store(zone, 'p1', ['product-1', 'products']);
  await store(zone, 'p2', ['product-2', 'products']);
  await store(zone, 'home', ['home']);
  const vary: [string, string][] = [['Vary', 'Accept-Language']];
  await store(zone, 'list', ['products'], vary, [['Accept-Language', 'en']]);
  await store(zone, 'list', ['products'], vary, [['Accept-Language', 'de']]);
  assert.equal(await entryFiles(path), 6);
  assert.equal(await zone.purgeTags(['product-1']), 1);
  assert.equal(await zone.purgeTags(['products', 'unknown']), 3);
  assert.equal(await missing(zone, 'home'), false);
  assert.equal(await entryFiles(path), 1, 'only "home" is left, the Vary record went with its variants');
  assert.equal(await zone.purgeTags(['products']), 0);
});

test('purges issued while the index is rebuilt still reach entries not yet indexed', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'portico-purge-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const first = await CacheZone.open({ path: dir, keysZone: { name: 'z', size: 1 << 20 }, levels: '2' });
  for (let i = 0; i < 30; i++) await store(first, `k${i}`, [i % 2 ? 'odd' : 'even']);
  await store(first, 'v', [], [['Vary', 'Accept']], [['Accept', 'text/html']]);
  await first.close();

  const { zone } = await setup(t, { loaderFiles: 2 }, dir);
  assert.equal(zone.loaded, false);
  const exact = zone.purgeExact('v');
  const tagged = zone.purgeTags(['odd']);
  assert.ok((await exact) >= 1);
  assert.equal(await tagged, 15);
  await zone.whenLoaded();
  assert.equal(await missing(zone, 'v'), true);
  assert.equal(await missing(zone, 'k1'), true);
  assert.equal(await missing(zone, 'k2'), false);
  assert.equal(zone.stats().files, 15);
});

test('purges travel through the Invalidator, which routes them by zone name', async (t) => {
  const published: Invalidation[] = [];
  const local = new LocalInvalidator();
  const spy: Invalidator = {
    attach: (target) => local.attach(target),
    publish: (inv) => {
      published.push(inv);
      return local.publish(inv);
    },
  };
  const a = await setup(t, { invalidator: spy, keysZone: { name: 'a', size: 1 << 20 } });
  const b = await setup(t, { invalidator: spy, keysZone: { name: 'b', size: 1 << 20 } });
  await store(a.zone, 'same-key');
  await store(b.zone, 'same-key');
  assert.equal(await a.zone.purgeAll(), 1);
  assert.deepEqual(published, [{ zone: 'a', kind: 'all' }]);
  assert.equal(await missing(b.zone, 'same-key'), false);
  assert.equal(await spy.publish({ zone: 'b', kind: 'exact', key: 'same-key' }), 1);
  assert.equal(await missing(b.zone, 'same-key'), true);
});
