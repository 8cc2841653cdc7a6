// Unit tests for the static handler's small-file cache: hits while unchanged, fresh bytes as soon as the file
// changes, files younger than the settle time never held, size and LRU bounds, misses for what it must not hold,
// and the open_file_cache_valid trust window (no stat, stale bytes allowed, until the window has passed).
// Not the HTTP path: test/integration/http1.test.ts serves a changing file through Portico.

import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SmallFileCache } from './small-file-cache.ts';

describe('SmallFileCache', () => {
  let dir: string;
  const later = (): number => Date.now() + 60_000;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'portico-small-file-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('holds a settled file and serves the same bytes while it is unchanged', async () => {
    const path = join(dir, 'a.txt');
    await writeFile(path, 'alpha\n');
    const cache = new SmallFileCache({ now: later });
    const first = cache.lookup(path);
    assert.equal(first?.bytes.toString(), 'alpha\n');
    assert.equal(first?.stats.size, 6);
    assert.equal(cache.lookup(path), first);
    assert.equal(cache.size, 1);
  });

  it('serves a file rewritten in place fresh on the next lookup (same size, same mtime second)', async () => {
    const path = join(dir, 'b.txt');
    await writeFile(path, 'one\n');
    const cache = new SmallFileCache({ now: later });
    assert.equal(cache.lookup(path)?.bytes.toString(), 'one\n');
    await writeFile(path, 'two\n');
    assert.equal(cache.lookup(path)?.bytes.toString(), 'two\n');
    await utimes(path, new Date('2024-01-01T00:00:00Z'), new Date('2024-01-01T00:00:00Z'));
    assert.equal(cache.lookup(path)?.stats.mtimeMs, Date.parse('2024-01-01T00:00:00Z'));
  });

  it('with a trust window, serves the held bytes without a stat until the window has passed (open_file_cache_valid)', async () => {
    const path = join(dir, 'trusted.txt');
    await writeFile(path, 'old\n');
    let clock = Date.now() + 60_000;
    const cache = new SmallFileCache({ now: () => clock });
    const first = cache.lookup(path, 1000);
    assert.equal(first?.bytes.toString(), 'old\n');
    await writeFile(path, 'new\n');
    clock += 999;
    assert.equal(cache.lookup(path, 1000), first, 'inside the window the change is not seen');
    assert.equal(cache.lookup(path)?.bytes.toString(), 'new\n', 'a lookup without a window always stats');
    await writeFile(path, 'newer\n');
    clock += 1;
    assert.equal(cache.lookup(path, 1000)?.bytes.toString(), 'new\n', 'the stat-ed lookup just before was a check: its bytes are trusted for the window');
    clock += 1000;
    assert.equal(cache.lookup(path, 1000)?.bytes.toString(), 'newer\n', 'after the window the path is stat-ed again');
    await rm(path);
    assert.equal(cache.lookup(path, 1000)?.bytes.toString(), 'newer\n', 'a removed file is served until the window ends, as nginx serves its open descriptor');
    clock += 1000;
    assert.equal(cache.lookup(path, 1000), undefined);
  });

  it('does not hold files changed within the settle time', async () => {
    const path = join(dir, 'young.txt');
    await writeFile(path, 'young\n');
    const cache = new SmallFileCache();
    assert.equal(cache.lookup(path), undefined);
    assert.equal(cache.size, 0);
  });

  it('misses for missing paths, directories and files above the size limit, and forgets a removed file', async () => {
    const cache = new SmallFileCache({ now: later, maxFileSize: 8 });
    await mkdir(join(dir, 'sub'), { recursive: true });
    await writeFile(join(dir, 'big.txt'), '0123456789');
    await writeFile(join(dir, 'gone.txt'), 'gone\n');
    assert.equal(cache.lookup(join(dir, 'missing.txt')), undefined);
    assert.equal(cache.lookup(join(dir, 'sub')), undefined);
    assert.equal(cache.lookup(join(dir, 'big.txt')), undefined);
    assert.equal(cache.lookup(join(dir, 'missing.txt', 'x')), undefined);
    assert.ok(cache.lookup(join(dir, 'gone.txt')));
    await rm(join(dir, 'gone.txt'));
    assert.equal(cache.lookup(join(dir, 'gone.txt')), undefined);
    assert.equal(cache.size, 0);
    assert.equal(cache.bytes, 0);
  });

  it('evicts the least recently used entry beyond the entry and byte bounds', async () => {
    const cache = new SmallFileCache({ now: later, maxEntries: 2, maxBytes: 10 });
    const paths = ['l1', 'l2', 'l3'].map((n) => join(dir, `${n}.txt`));
    for (const p of paths) await writeFile(p, 'abcd');
    cache.lookup(paths[0]!);
    cache.lookup(paths[1]!);
    cache.lookup(paths[0]!);
    cache.lookup(paths[2]!);
    assert.equal(cache.size, 2);
    assert.equal(cache.bytes, 8);
    const p0 = cache.lookup(paths[0]!);
    assert.equal(cache.lookup(paths[0]!), p0, 'l1 was used last and stayed');
    await writeFile(join(dir, 'l4.txt'), 'abcdefgh');
    cache.lookup(join(dir, 'l4.txt'));
    assert.equal(cache.size, 1);
    assert.equal(cache.bytes, 8);
  });
});
