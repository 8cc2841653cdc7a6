// Entry file format and writer: round trip, publish-by-rename, aborts and failures leaving nothing, corruption found.
// Not the zone: index, locks and eviction are tested in zone.test.ts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, truncate, writeFile, open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  decodeEntryHeader,
  encodeEntryHeader,
  EntryFileWriter,
  FIXED_HEADER_SIZE,
  openEntry,
  patchEntryFreshness,
  readEntryMeta,
  type EntryRecord,
} from './entry-file.ts';

const record: EntryRecord = {
  flags: 0,
  status: 200,
  validUntil: 1_700_000_600_000,
  updatingSec: 30,
  errorSec: 90,
  lastModified: 1_600_000_000_000,
  date: 1_700_000_000_000,
  key: 'httpGETexample.com/a b%\n',
  headers: [
    ['Content-Type', 'text/plain'],
    ['X-Odd', 'a: b, %41'],
  ],
  etag: '"v1"',
  vary: ['accept-encoding'],
  variant: [['accept-encoding', 'gzip,br']],
  tags: ['product-1', 'all: products'],
};

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'portico-entry-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function writeEntry(dir: string, body: Buffer[], rec: EntryRecord = record): Promise<string> {
  const w = new EntryFileWriter({ tempPath: join(dir, 'tmp', 'x.0000000001'), finalPath: join(dir, 'a', 'b', 'entry'), record: rec });
  for (const chunk of body) if (!w.write(chunk)) await w.drained();
  assert.equal(await w.finish(), true);
  assert.equal(await w.publish(), true);
  return w.finalPath;
}

test('a written entry reads back with its header, fields and body', async (t) => {
  const dir = await tempDir(t);
  const path = await writeEntry(dir, [Buffer.from('hello '), Buffer.from('world')]);
  const r = await openEntry(path);
  assert.ok(r.ok);
  try {
    const { entry, handle } = r;
    assert.equal(entry.key, record.key);
    assert.deepEqual(entry.headers, record.headers);
    assert.equal(entry.status, 200);
    assert.equal(entry.validUntil, record.validUntil);
    assert.equal(entry.updatingSec, 30);
    assert.equal(entry.errorSec, 90);
    assert.equal(entry.lastModified, record.lastModified);
    assert.equal(entry.date, record.date);
    assert.equal(entry.etag, '"v1"');
    assert.deepEqual(entry.vary, record.vary);
    assert.deepEqual(entry.variant, record.variant);
    assert.deepEqual(entry.tags, record.tags);
    assert.equal(entry.bodyLength, 11);
    const body = Buffer.alloc(entry.bodyLength);
    await handle.read(body, 0, body.length, entry.bodyOffset);
    assert.equal(body.toString(), 'hello world');
  } finally {
    await r.handle.close();
  }
  const raw = await readFile(path);
  assert.equal(raw.subarray(FIXED_HEADER_SIZE, FIXED_HEADER_SIZE + 6).toString(), '\nKEY: ', 'key line as in nginx files');
  assert.deepEqual(await readdir(join(dir, 'tmp')), [], 'temporary file renamed away');
});

test('encode/decode round trip for arbitrary records', () => {
  const text = fc.string({ unit: fc.constantFrom('a', 'Z', '0', ' ', ':', ',', '%', '%4', '\n', '\r', 'é', '€', '😀'), maxLength: 30 });
  const name = fc.string({ unit: fc.constantFrom(...'abcxyzABCXYZ0129-'), minLength: 1, maxLength: 12 });
  fc.assert(
    fc.property(
      fc.record({
        key: text,
        headers: fc.array(fc.tuple(name, text), { maxLength: 6 }),
        etag: text,
        vary: fc.array(name.map((n) => n.toLowerCase()), { maxLength: 3 }),
        variant: fc.array(fc.tuple(name, text), { maxLength: 3 }),
        tags: fc.array(text, { maxLength: 4 }),
        status: fc.integer({ min: 100, max: 599 }),
        validUntil: fc.integer({ min: -1, max: 2 ** 50 }),
      }),
      (r) => {
        const rec: EntryRecord = { ...record, ...r, key: r.key };
        const buf = encodeEntryHeader(rec);
        const decoded = decodeEntryHeader(buf.subarray(0, FIXED_HEADER_SIZE), buf.subarray(FIXED_HEADER_SIZE), buf.length);
        const norm = (s: string) => Buffer.from(s, 'utf8').toString('utf8');
        assert.equal(decoded.key, norm(rec.key));
        assert.deepEqual(decoded.headers, rec.headers.map(([n, v]) => [n, norm(v)]));
        assert.equal(decoded.etag, norm(rec.etag));
        assert.deepEqual(decoded.vary, rec.vary);
        assert.deepEqual(decoded.variant, rec.variant.map(([n, v]) => [n, norm(v)]));
        assert.deepEqual(decoded.tags, rec.tags.map(norm));
        assert.equal(decoded.validUntil, rec.validUntil);
        assert.equal(decoded.status, rec.status);
        assert.equal(decoded.bodyLength, 0);
      },
    ),
  );
});

test('an aborted writer leaves neither the entry nor its temporary file', async (t) => {
  const dir = await tempDir(t);
  const w = new EntryFileWriter({ tempPath: join(dir, 'tmp', 'y.0000000002'), finalPath: join(dir, 'entry'), record });
  w.write(Buffer.alloc(100_000, 1));
  await w.drained();
  w.abort();
  assert.equal(await w.finish(), false);
  assert.equal(await w.publish(), false);
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(await readdir(join(dir, 'tmp')), []);
  await assert.rejects(stat(join(dir, 'entry')), { code: 'ENOENT' });
});

test('a writer aborted after finish publishes nothing', async (t) => {
  const dir = await tempDir(t);
  const w = new EntryFileWriter({ tempPath: join(dir, 'z.0000000003'), finalPath: join(dir, 'entry'), record });
  w.write(Buffer.from('body'));
  assert.equal(await w.finish(), true);
  w.abort();
  assert.equal(await w.publish(), false);
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(await readdir(dir), []);
});

test('a writer that cannot create its file fails quietly and reports once', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'blocker'), '');
  const failures: unknown[] = [];
  const w = new EntryFileWriter({
    tempPath: join(dir, 'blocker', 'tmp.0000000004'),
    finalPath: join(dir, 'entry'),
    record,
    onFailure: (e) => failures.push(e),
  });
  assert.equal(w.write(Buffer.from('x')), true);
  assert.equal(await w.finish(), false);
  assert.equal(w.state, 'failed');
  assert.equal(failures.length, 1);
  assert.equal((failures[0] as { code?: string }).code, 'ENOTDIR');
  assert.equal(w.write(Buffer.from('more')), true, 'writes after a failure are dropped without backpressure');
});

test('write() signals backpressure above the high-water mark and drained() resolves', async (t) => {
  const dir = await tempDir(t);
  const w = new EntryFileWriter({ tempPath: join(dir, 'b.0000000005'), finalPath: join(dir, 'entry'), record, highWaterMark: 1024 });
  assert.equal(w.write(Buffer.alloc(512)), true);
  assert.equal(w.write(Buffer.alloc(4096)), false);
  await w.drained();
  assert.equal(await w.finish(), true);
  assert.equal(await w.publish(), true);
  const r = await readEntryMeta(w.finalPath);
  assert.ok(r.ok);
  assert.equal(r.entry.bodyLength, 4608);
});

test('corrupt entries are reported, not served', async (t) => {
  const dir = await tempDir(t);
  const corruptions: [string, (path: string) => Promise<void>][] = [
    ['truncated body', (p) => truncate(p, 200)],
    ['too small', (p) => truncate(p, 10)],
    ['bad magic', (p) => poke(p, 0, 0x58)],
    ['flipped fixed-header byte', (p) => poke(p, 20, 0xff)],
    ['unsupported version', (p) => poke(p, 9, 9)],
    ['flipped header-block byte', (p) => poke(p, FIXED_HEADER_SIZE + 10, 0x21)],
    ['extra bytes', async (p) => writeFile(p, 'trailing', { flag: 'a' })],
  ];
  for (const [name, damage] of corruptions) {
    const sub = join(dir, name.replace(/ /g, '-'));
    const path = await writeEntry(sub, [Buffer.alloc(300, 7)]);
    await damage(path);
    const r = await openEntry(path);
    assert.equal(r.ok, false, name);
    if (!r.ok) assert.equal(r.reason, 'corrupt', name);
  }
  const missing = await openEntry(join(dir, 'nope'));
  assert.ok(!missing.ok && missing.reason === 'missing');
});

test('patchEntryFreshness rewrites validity in place, keeping the checksums valid', async (t) => {
  const dir = await tempDir(t);
  const path = await writeEntry(dir, [Buffer.from('body')]);
  const patch = { validUntil: 1_800_000_000_000, updatingSec: 1, errorSec: 2, date: 1_700_000_100_000 };
  assert.equal(await patchEntryFreshness(path, patch, 123), false, 'date mismatch: the file changed');
  assert.equal(await patchEntryFreshness(path, patch, record.date), true);
  const r = await readEntryMeta(path);
  assert.ok(r.ok);
  assert.equal(r.entry.validUntil, patch.validUntil);
  assert.equal(r.entry.updatingSec, 1);
  assert.equal(r.entry.errorSec, 2);
  assert.equal(r.entry.date, patch.date);
  assert.equal(r.entry.bodyLength, 4);
});

async function poke(path: string, offset: number, value: number): Promise<void> {
  const h = await open(path, 'r+');
  try {
    const cur = Buffer.alloc(1);
    await h.read(cur, 0, 1, offset);
    await h.write(Buffer.from([cur[0] ^ value]), 0, 1, offset);
  } finally {
    await h.close();
  }
}

test('chunks written from other microtasks while the queue drains all reach the file', async (t) => {
  const dir = await tempDir(t);
  const w = new EntryFileWriter({ tempPath: join(dir, 'm.0000000006'), finalPath: join(dir, 'entry'), record, highWaterMark: 8 });
  let expected = '';
  for (let i = 0; i < 200; i++) {
    const chunk = `chunk-${i};`;
    expected += chunk;
    if (!w.write(Buffer.from(chunk))) await w.drained();
    if (i % 7 === 0) await Promise.resolve();
  }
  assert.equal(await w.finish(), true);
  assert.equal(await w.publish(), true);
  const r = await openEntry(w.finalPath);
  assert.ok(r.ok);
  const body = Buffer.alloc(r.entry.bodyLength);
  await r.handle.read(body, 0, body.length, r.entry.bodyOffset);
  await r.handle.close();
  assert.equal(body.toString(), expected);
});
