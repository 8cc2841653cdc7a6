// CacheZone behaviour on a real temporary directory: store and hit, restart, Vary, min_uses, stale updates,
// the fill lock, corrupt files and disk errors. Purges and eviction have their own test files.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PorticoError } from '../core/errors.ts';
import { computeFreshness, type Freshness } from './freshness.ts';
import type { Lease } from './key-locks.ts';
import type { RequestHeaderSource } from './vary.ts';
import { CacheZone, type CacheZoneOptions, type LookupResult } from './zone.ts';

type T = { after: (fn: () => Promise<void>) => void };

async function setup(t: T, options: Partial<CacheZoneOptions> = {}, dir?: string) {
  const path = dir ?? (await mkdtemp(join(tmpdir(), 'portico-zone-')));
  const errors: PorticoError[] = [];
  const zone = await CacheZone.open({
    path,
    keysZone: { name: 'z', size: 1024 * 1024 },
    levels: '1:2',
    onError: (e) => errors.push(e),
    ...options,
  });
  t.after(async () => {
    await zone.close();
    if (!dir) await rm(path, { recursive: true, force: true });
  });
  return { path, zone, errors };
}

interface StoreOptions {
  headers?: [string, string][];
  status?: number;
  freshness?: Freshness;
  requestHeaders?: RequestHeaderSource;
  tags?: string[];
  lease?: Lease;
  now?: number;
}

function store(zone: CacheZone, key: string, body: string, o: StoreOptions = {}): Promise<boolean> {
  const status = o.status ?? 200;
  const headers = o.headers ?? [['Content-Type', 'text/plain']];
  const freshness = o.freshness ?? computeFreshness(status, headers, [], [{ codes: 'any', seconds: 600 }], o.now ?? Date.now());
  const w = zone.beginWrite(key, { status, headers, freshness, tags: o.tags }, o.requestHeaders ?? [], { lease: o.lease });
  w.write(Buffer.from(body));
  return w.commit();
}

async function bodyOf(r: LookupResult): Promise<string> {
  assert.notEqual(r.state, 'miss');
  if (r.state === 'miss') return '';
  const buf = Buffer.alloc(r.body.length);
  if (r.body.bytes) r.body.bytes.copy(buf, 0, r.body.offset, r.body.offset + buf.length);
  else await r.body.handle.read(buf, 0, buf.length, r.body.offset);
  await r.close();
  return buf.toString();
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(join(e.parentPath, e.name));
  }
  return out;
}

test('miss, store, then hit with headers and body', async (t) => {
  const { zone, errors } = await setup(t);
  await zone.whenLoaded();
  const miss = await zone.lookup('k1');
  assert.deepEqual(miss, { state: 'miss', hash: miss.hash, store: true });
  assert.equal(await store(zone, 'k1', 'payload', { headers: [['Content-Type', 'text/html'], ['ETag', '"e1"']] }), true);
  const hit = await zone.lookup('k1');
  assert.equal(hit.state, 'hit');
  if (hit.state !== 'hit') return;
  assert.equal(hit.entry.status, 200);
  assert.deepEqual(hit.entry.headers, [['Content-Type', 'text/html'], ['ETag', '"e1"']]);
  assert.equal(hit.entry.etag, '"e1"');
  assert.equal(hit.body.path, zone.pathFor('k1'));
  assert.equal(await bodyOf(hit), 'payload');
  assert.equal(zone.stats().files, 1);
  assert.deepEqual(errors, []);
});

test('a new zone on the same directory rebuilds the index from disk, and serves before it finished', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'portico-zone-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const first = await CacheZone.open({ path: dir, keysZone: { name: 'z', size: 1 << 20 }, levels: '1:2' });
  for (let i = 0; i < 25; i++) assert.equal(await store(first, `key-${i}`, `body-${i}`, { tags: [`t${i % 3}`] }), true);
  const vary: [string, string][] = [['Vary', 'Accept-Encoding']];
  await store(first, 'varied', 'gz', { headers: vary, requestHeaders: [['Accept-Encoding', 'gzip']] });
  await store(first, 'varied', 'plain', { headers: vary, requestHeaders: [] });
  await first.close();

  const { zone, errors } = await setup(t, { loaderFiles: 5 }, dir);
  assert.equal(zone.loaded, false);
  assert.equal(await bodyOf(await zone.lookup('key-7')), 'body-7', 'found on disk while loading');
  assert.equal(await bodyOf(await zone.lookup('varied', [['accept-encoding', 'gzip']])), 'gz');
  await zone.whenLoaded();
  assert.equal(zone.loaded, true);
  assert.equal(zone.stats().files, 25 + 3, '25 entries, 2 variants and the Vary record');
  assert.equal(await bodyOf(await zone.lookup('key-24')), 'body-24');
  assert.equal(await bodyOf(await zone.lookup('varied')), 'plain');
  assert.equal(await zone.purgeTags(['t1']), 8, 'tags were rebuilt too');
  assert.deepEqual(errors, []);
});

test('Vary: each variant is its own file, and purgeExact removes them all', async (t) => {
  const { zone, path } = await setup(t);
  await zone.whenLoaded();
  const headers: [string, string][] = [['Vary', 'Accept-Encoding']];
  assert.equal(await store(zone, 'v', 'gzip body', { headers, requestHeaders: [['Accept-Encoding', 'gzip, br']] }), true);
  assert.equal(await store(zone, 'v', 'identity body', { headers, requestHeaders: [] }), true);
  assert.equal(await bodyOf(await zone.lookup('v', { 'accept-encoding': 'gzip,br' })), 'gzip body', 'token list normalized');
  assert.equal(await bodyOf(await zone.lookup('v', [])), 'identity body');
  const other = await zone.lookup('v', [['Accept-Encoding', 'deflate']]);
  assert.equal(other.state, 'miss');
  assert.equal((await filesUnder(path)).length, 3, 'two variants and the Vary record');

  assert.equal(await zone.purgeExact('v'), 2);
  assert.equal((await zone.lookup('v', [['Accept-Encoding', 'gzip, br']])).state, 'miss');
  assert.deepEqual(await filesUnder(path), []);
  assert.equal(await zone.purgeExact('v'), 0);
});

test('two variants of a new key committed at once both survive', async (t) => {
  const { zone } = await setup(t);
  await zone.whenLoaded();
  const headers: [string, string][] = [['Vary', 'Accept-Encoding']];
  const results = await Promise.all([
    store(zone, 'race', 'gz', { headers, requestHeaders: [['Accept-Encoding', 'gzip']] }),
    store(zone, 'race', 'br', { headers, requestHeaders: [['Accept-Encoding', 'br']] }),
    store(zone, 'race', 'id', { headers }),
  ]);
  assert.deepEqual(results, [true, true, true]);
  assert.equal(await bodyOf(await zone.lookup('race', [['Accept-Encoding', 'gzip']])), 'gz');
  assert.equal(await bodyOf(await zone.lookup('race', [['Accept-Encoding', 'br']])), 'br');
  assert.equal(await bodyOf(await zone.lookup('race')), 'id');
  assert.equal(zone.stats().files, 4);
});

test('a response without Vary replaces all variants of the key', async (t) => {
  const { zone, path } = await setup(t);
  await zone.whenLoaded();
  await store(zone, 'k', 'a', { headers: [['Vary', 'Accept-Language']], requestHeaders: [['Accept-Language', 'en']] });
  await store(zone, 'k', 'b', { headers: [['Vary', 'Accept-Language']], requestHeaders: [['Accept-Language', 'fr']] });
  await store(zone, 'k', 'plain');
  assert.equal(await bodyOf(await zone.lookup('k', [['Accept-Language', 'en']])), 'plain');
  await new Promise((r) => setTimeout(r, 20));
  assert.equal((await filesUnder(path)).length, 1);
  assert.equal(zone.stats().files, 1);
});

test('min_uses: only the second request within inactive may store', async (t) => {
  const { zone } = await setup(t);
  await zone.whenLoaded();
  assert.equal((await zone.lookup('m', [], { minUses: 2 })).state, 'miss');
  const first = await zone.lookup('other', [], { minUses: 3 });
  assert.ok(first.state === 'miss' && !first.store);
  const second = await zone.lookup('m', [], { minUses: 2 });
  assert.ok(second.state === 'miss' && second.store);
  await store(zone, 'm', 'x');
  assert.equal(await bodyOf(await zone.lookup('m', [], { minUses: 2 })), 'x');
});

test('an expired entry hands one request the update lease; others see it updating', async (t) => {
  let now = 1_700_000_000_000;
  const { zone } = await setup(t, { clock: () => now });
  await zone.whenLoaded();
  const headers: [string, string][] = [['Cache-Control', 'max-age=10, stale-while-revalidate=60']];
  await store(zone, 'e', 'old', { headers, now });
  now += 20_000;
  const a = await zone.lookup('e');
  const b = await zone.lookup('e');
  assert.equal(a.state, 'expired');
  assert.equal(b.state, 'updating');
  if (a.state !== 'expired' || b.state !== 'updating') return;
  assert.equal(a.staleUpdating, true);
  assert.equal(await bodyOf(b), 'old');
  await a.close();
  assert.equal(await store(zone, 'e', 'new', { headers, now, lease: a.lease }), true);
  assert.equal(a.lease.held, false);
  assert.equal(await bodyOf(await zone.lookup('e')), 'new');
});

test('revalidate (upstream 304) extends the entry in place', async (t) => {
  let now = 1_700_000_000_000;
  const { zone } = await setup(t, { clock: () => now });
  await zone.whenLoaded();
  await store(zone, 'r', 'kept', { headers: [['Cache-Control', 'max-age=10']], now });
  now += 60_000;
  const expired = await zone.lookup('r');
  assert.equal(expired.state, 'expired');
  if (expired.state !== 'expired') return;
  await expired.close();
  const fresh = computeFreshness(304, [['Cache-Control', 'max-age=100']], [], [], now);
  assert.equal(await zone.revalidate('r', fresh, [], expired.lease), true);
  const hit = await zone.lookup('r');
  assert.equal(hit.state, 'hit');
  assert.equal(await bodyOf(hit), 'kept');
});

test('cache lock: 100 concurrent misses reach the upstream once', async (t) => {
  const { zone } = await setup(t);
  await zone.whenLoaded();
  let upstreamCalls = 0;
  const serve = async (): Promise<string> => {
    const r = await zone.lookup('hot');
    if (r.state !== 'miss') return bodyOf(r);
    const outcome = await zone.acquire('hot', { timeout: 5000, age: 5000 });
    if (outcome.kind === 'entry') return bodyOf(await zone.lookup('hot'));
    upstreamCalls++;
    await new Promise((r) => setTimeout(r, 30));
    if (outcome.kind === 'owner') await store(zone, 'hot', 'from upstream', { lease: outcome.lease });
    return 'from upstream';
  };
  const bodies = await Promise.all(Array.from({ length: 100 }, serve));
  assert.equal(upstreamCalls, 1);
  assert.ok(bodies.every((b) => b === 'from upstream'));
  assert.equal(zone.stats().locks, 0);
});

test('cache lock: released without an entry, the next waiter fills; lock_timeout sends a waiter upstream', async (t) => {
  const { zone } = await setup(t);
  await zone.whenLoaded();
  const owner = await zone.acquire('k');
  assert.equal(owner.kind, 'owner');
  const waiter = zone.acquire('k', { timeout: 2000 });
  const impatient = zone.acquire('k', { timeout: 20 });
  assert.deepEqual(await impatient, { kind: 'timeout' });
  if (owner.kind === 'owner') owner.lease.release();
  const next = await waiter;
  assert.equal(next.kind, 'owner');
  if (next.kind === 'owner') {
    const w = zone.beginWrite('k', { status: 200, headers: [], freshness: computeFreshness(200, [], [], [{ codes: 'any', seconds: 60 }], Date.now()) }, [], { lease: next.lease });
    w.abort();
    assert.equal(next.lease.held, false, 'abort releases the lease');
  }
});

test('cache lock: a lock older than lock_age lets another request through', async (t) => {
  const { zone } = await setup(t);
  await zone.whenLoaded();
  const owner = await zone.acquire('slow', { age: 30 });
  assert.equal(owner.kind, 'owner');
  const second = await zone.acquire('slow', { timeout: 1000, age: 30 });
  assert.equal(second.kind, 'owner');
  if (owner.kind === 'owner') assert.equal(owner.lease.held, false);
});

test('a corrupt file is reported, removed and treated as a miss', async (t) => {
  const { zone, errors } = await setup(t);
  await zone.whenLoaded();
  await store(zone, 'c', 'some body that will be cut');
  await truncate(zone.pathFor('c'), 100);
  const r = await zone.lookup('c');
  assert.equal(r.state, 'miss');
  assert.equal(errors[0]?.code, 'CACHE_ENTRY_CORRUPT');
  await assert.rejects(stat(zone.pathFor('c')), { code: 'ENOENT' });
  assert.equal(zone.stats().files, 0);
});

test('unwritable temp directory: the writer aborts, onError is called, nothing throws, the lock is freed', async (t) => {
  const { zone, errors } = await setup(t);
  await zone.whenLoaded();
  await rm(zone.tempPath, { recursive: true });
  await writeFile(zone.tempPath, 'not a directory');
  const owner = await zone.acquire('u');
  assert.equal(owner.kind, 'owner');
  if (owner.kind !== 'owner') return;
  const waiter = zone.acquire('u', { timeout: 2000 });
  const freshness = computeFreshness(200, [], [], [{ codes: 'any', seconds: 60 }], Date.now());
  const w = zone.beginWrite('u', { status: 200, headers: [], freshness }, [], { lease: owner.lease });
  assert.equal(w.write(Buffer.alloc(64 * 1024)), true);
  await w.drained();
  assert.equal(await w.commit(), false);
  assert.equal(errors.length, 1);
  assert.equal(errors[0].code, 'CACHE_WRITE_FAILED');
  assert.match(errors[0].message, /ENOTDIR/);
  assert.equal((await waiter).kind, 'owner', 'a waiter takes over the fill');
  assert.equal((await zone.lookup('u')).state, 'miss');
});

test('use_temp_path=off writes beside the entry; a blocked level directory fails the write quietly', async (t) => {
  const { zone, errors, path } = await setup(t, { useTempPath: false });
  await zone.whenLoaded();
  assert.equal(await store(zone, 'beside', 'ok'), true);
  assert.equal((await filesUnder(path)).length, 1);
  const target = zone.pathFor('blocked');
  await mkdir(join(target, '..', '..'), { recursive: true });
  await writeFile(join(target, '..'), 'file in the way');
  assert.equal(await store(zone, 'blocked', 'nope'), false);
  assert.equal(errors[0]?.code, 'CACHE_WRITE_FAILED');
});

test('a write started before a purge of its key is not published', async (t) => {
  const { zone } = await setup(t);
  await zone.whenLoaded();
  const freshness = computeFreshness(200, [], [], [{ codes: 'any', seconds: 60 }], Date.now());
  const w = zone.beginWrite('p', { status: 200, headers: [], freshness });
  w.write(Buffer.from('stale by now'));
  await zone.purgeExact('p');
  assert.equal(await w.commit(), false);
  assert.equal((await zone.lookup('p')).state, 'miss');
  assert.equal(await store(zone, 'p', 'after the purge'), true);
});

test('uncacheable freshness yields a writer that stores nothing', async (t) => {
  const { zone } = await setup(t);
  await zone.whenLoaded();
  const freshness = computeFreshness(200, [['Set-Cookie', 'a=1']], [], [{ codes: 'any', seconds: 60 }], Date.now());
  const w = zone.beginWrite('nc', { status: 200, headers: [], freshness });
  assert.equal(w.write(Buffer.from('x')), true);
  assert.equal(await w.commit(), false);
  assert.equal(zone.stats().files, 0);
});

test('invalid options fail at open with nginx-style messages', async () => {
  await assert.rejects(
    CacheZone.open({ path: join(tmpdir(), 'unused'), keysZone: { name: 'z', size: 100 } }),
    { code: 'CACHE_KEYS_ZONE_INVALID', message: 'invalid keys zone size "keys_zone=z:100"' },
  );
  await assert.rejects(
    CacheZone.open({ path: join(tmpdir(), 'unused'), keysZone: { name: 'z', size: 1 << 20 }, levels: '1:3' }),
    { code: 'CACHE_LEVELS_INVALID', message: 'invalid "levels" "levels=1:3"' },
  );
  const file = join(await mkdtemp(join(tmpdir(), 'portico-zone-')), 'file');
  await writeFile(file, '');
  await assert.rejects(CacheZone.open({ path: join(file, 'cache'), keysZone: { name: 'z', size: 1 << 20 } }), {
    code: 'CACHE_PATH_UNUSABLE',
  });
  await rm(join(file, '..'), { recursive: true, force: true });
});
