// Unit tests for FileStorage: atomic writes, file modes, listing, key validation and expiring locks.
// Not multi-host: processes sharing the directory are simulated by separate instances.

import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isPorticoError } from '../core/errors.ts';
import { FileStorage } from './file-storage.ts';
import { withLock } from './storage.ts';

describe('FileStorage', () => {
  let dir: string;
  before(async () => { dir = await mkdtemp(path.join(os.tmpdir(), 'portico-storage-')); });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  it('round-trips blobs, returns undefined for missing keys and deletes idempotently', async () => {
    const s = new FileStorage({ root: path.join(dir, 'a') });
    assert.equal(await s.get('x/y'), undefined);
    await s.put('x/y', 'hello');
    assert.equal((await s.get('x/y'))?.toString(), 'hello');
    await s.put('x/y', Buffer.from('again'));
    assert.equal((await s.get('x/y'))?.toString(), 'again');
    await s.delete('x/y');
    await s.delete('x/y');
    assert.equal(await s.get('x/y'), undefined);
  });

  it('writes secrets at 0600 and other files at 0644, leaving no temp files', async () => {
    const root = path.join(dir, 'modes');
    const s = new FileStorage({ root });
    await s.put('k/key.pem', 'secret', { secret: true });
    await s.put('k/chain.pem', 'public');
    assert.equal((await stat(path.join(root, 'k/key.pem'))).mode & 0o777, 0o600);
    assert.equal((await stat(path.join(root, 'k/chain.pem'))).mode & 0o777, 0o644);
    await s.put('k/key.pem', 'secret2', { secret: true });
    assert.equal((await stat(path.join(root, 'k/key.pem'))).mode & 0o777, 0o600);
    assert.deepEqual((await readdir(path.join(root, 'k'))).sort(), ['chain.pem', 'key.pem']);
  });

  it('replaces files atomically: concurrent readers see the old or the new content, never a mix', async () => {
    const s = new FileStorage({ root: path.join(dir, 'atomic') });
    const a = 'A'.repeat(256 * 1024);
    const b = 'B'.repeat(256 * 1024);
    await s.put('f', a);
    let stop = false;
    const seen = new Set<string>();
    const reader = (async () => {
      while (!stop) {
        const v = (await s.get('f'))?.toString() ?? '';
        seen.add(v === a ? 'a' : v === b ? 'b' : `torn:${v.length}`);
      }
    })();
    for (let i = 0; i < 20; i++) await s.put('f', i % 2 === 0 ? b : a);
    stop = true;
    await reader;
    assert.deepEqual([...seen].filter((x) => x.startsWith('torn')), []);
  });

  it('lists keys by prefix, skipping temp and lock files', async () => {
    const s = new FileStorage({ root: path.join(dir, 'list') });
    await s.put('certificates/le/a/chain.pem', '1');
    await s.put('certificates/le/a/key.pem', '2', { secret: true });
    await s.put('certificates/zz/b/chain.pem', '3');
    await s.put('http-01/tok', '4');
    await s.put('http-01/-leading-dash_', '5');
    await writeFile(path.join(s.root, 'http-01/.tok.tmp-1-abc'), 'partial');
    await s.lock('something');
    assert.deepEqual(await s.list('certificates/le/'), ['certificates/le/a/chain.pem', 'certificates/le/a/key.pem']);
    assert.deepEqual(await s.list('certificates/'), ['certificates/le/a/chain.pem', 'certificates/le/a/key.pem', 'certificates/zz/b/chain.pem']);
    assert.deepEqual(await s.list('http'), ['http-01/-leading-dash_', 'http-01/tok']);
    assert.deepEqual(await s.list('nothing/'), []);
  });

  it('rejects keys that could escape the state directory', async () => {
    const s = new FileStorage({ root: path.join(dir, 'keys') });
    for (const bad of ['../x', 'a/../../x', '/etc/passwd', 'a//b', '', '.hidden', 'a/./b']) {
      await assert.rejects(s.put(bad, 'x'), (e) => isPorticoError(e, 'TLS_STORAGE_BAD_KEY'), bad);
    }
  });

  it('gives a lock to one holder at a time and frees it on release', async () => {
    const s = new FileStorage({ root: path.join(dir, 'lock1') });
    const a = await s.lock('issue', { ttlMs: 10_000 });
    assert.ok(a);
    assert.equal(await s.lock('issue', { ttlMs: 10_000 }), undefined);
    const other = await s.lock('other', { ttlMs: 10_000 });
    assert.ok(other);
    const waiting = s.lock('issue', { ttlMs: 10_000, waitMs: 2_000, pollMs: 10 });
    await new Promise((r) => setTimeout(r, 50));
    await a.release();
    const b = await waiting;
    assert.ok(b);
    assert.equal(await a.refresh(), false);
    await b.release();
    await other.release();
  });

  it('lets a new holder take an expired lock, and the old holder notices on refresh', async () => {
    let now = 1_000_000;
    const s = new FileStorage({ root: path.join(dir, 'lock2'), now: () => now });
    const crashed = await s.lock('issue', { ttlMs: 1_000 });
    assert.ok(crashed);
    now += 500;
    assert.equal(await s.lock('issue', { ttlMs: 1_000 }), undefined);
    now += 600;
    const fresh = await s.lock('issue', { ttlMs: 1_000 });
    assert.ok(fresh);
    assert.equal(await crashed.refresh(), false);
    await crashed.release();
    assert.equal(await s.lock('issue', { ttlMs: 1_000 }), undefined, 'old holder release must not free the new lock');
    assert.equal(await fresh.refresh(), true);
    await fresh.release();
  });

  it('treats an unreadable lock file as stale', async () => {
    const root = path.join(dir, 'lock3');
    const s = new FileStorage({ root });
    await mkdir(path.join(root, '.locks'), { recursive: true });
    await writeFile(path.join(root, '.locks', 'x.lock'), '{torn');
    const h = await s.lock('x');
    assert.ok(h);
    await h.release();
  });

  it('serialises withLock sections across storage instances on the same directory', async () => {
    const root = path.join(dir, 'lock4');
    const s1 = new FileStorage({ root });
    const s2 = new FileStorage({ root });
    let inside = 0;
    let maxInside = 0;
    const section = async (): Promise<void> => {
      inside++;
      maxInside = Math.max(maxInside, inside);
      await new Promise((r) => setTimeout(r, 20));
      inside--;
    };
    await Promise.all(Array.from({ length: 6 }, (_, i) =>
      withLock(i % 2 === 0 ? s1 : s2, 'section', { ttlMs: 5_000, waitMs: 5_000, pollMs: 5 }, section)));
    assert.equal(maxInside, 1);
  });
});
