// Unit tests for a zone's held bodies: held once settled, used while the index node and the file are unchanged,
// dropped on a new node, a new date (revalidation) or a replaced file, and bounded by bytes.
// Not the zone's lookup: zone.test.ts and test/integration/cache.test.ts go through CacheZone.

import assert from 'node:assert/strict';
import { mkdtemp, open, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { StoredEntry } from './entry-file.ts';
import { HeldBodies } from './held-bodies.ts';
import type { IndexNode } from './zone-index.ts';

function node(hash: string, date = 1): IndexNode {
  return { hash, date } as unknown as IndexNode;
}

function entry(bodyOffset: number, bodyLength: number): StoredEntry {
  return { bodyOffset, bodyLength } as unknown as StoredEntry;
}

async function hold(held: HeldBodies, n: IndexNode, path: string, e: StoredEntry): Promise<Buffer | undefined> {
  const handle = await open(path, 'r');
  try {
    return await held.hold(n, e, handle, () => true);
  } finally {
    await handle.close();
  }
}

describe('HeldBodies', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'portico-held-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('holds the body of a settled entry and returns it while node, date and file are unchanged', async () => {
    const path = join(dir, 'a');
    await writeFile(path, 'HEADERbody');
    const held = new HeldBodies({ settleMs: -60_000 });
    const n = node('a');
    assert.equal((await hold(held, n, path, entry(6, 4)))?.toString(), 'body');
    assert.equal(held.get(n, path)?.bytes.toString(), 'body');
    n.date = 2;
    assert.equal(held.get(n, path), undefined, 'a revalidated node drops it');
    assert.equal(held.size, 0);
  });

  it('drops the body when the index holds a new node or the file was replaced', async () => {
    const path = join(dir, 'b');
    await writeFile(path, 'HEADERbody');
    const held = new HeldBodies({ settleMs: -60_000 });
    const n = node('b');
    await hold(held, n, path, entry(6, 4));
    assert.equal(held.get(node('b'), path), undefined);
    await hold(held, n, path, entry(6, 4));
    await writeFile(join(dir, 'b.new'), 'HEADERnext');
    await rename(join(dir, 'b.new'), path);
    assert.equal(held.get(n, path), undefined);
  });

  it('holds nothing changed within the settle time, above the size limit, or no longer current', async () => {
    const path = join(dir, 'c');
    await writeFile(path, 'HEADERbody');
    assert.equal(await hold(new HeldBodies(), node('c'), path, entry(6, 4)), undefined);
    assert.equal(await hold(new HeldBodies({ settleMs: -60_000, maxBodySize: 3 }), node('c'), path, entry(6, 4)), undefined);
    const held = new HeldBodies({ settleMs: -60_000 });
    const handle = await open(path, 'r');
    assert.equal(await held.hold(node('c'), entry(6, 4), handle, () => false), undefined);
    await handle.close();
    assert.equal(held.size, 0);
  });

  it('keeps the total under maxBytes, least recently used out first', async () => {
    const held = new HeldBodies({ settleMs: -60_000, maxBytes: 8 });
    const nodes = ['d1', 'd2', 'd3'].map((h) => node(h));
    for (const n of nodes) {
      await writeFile(join(dir, n.hash), 'HEADERbody');
      await hold(held, n, join(dir, n.hash), entry(6, 4));
    }
    assert.equal(held.size, 2);
    assert.equal(held.get(nodes[0]!, join(dir, 'd1')), undefined);
    assert.ok(held.get(nodes[2]!, join(dir, 'd3')));
  });
});
