// `hash` and `hash consistent` against nginx's algorithms: node:zlib's crc32 checked against a table-driven
// CRC-32 written here (nginx's ngx_crc32_long), hash picks against a plain re-implementation, the ketama ring
// against one built from that CRC, and the usual consistent-hash properties.
// Not a test of key evaluation: callers pass the evaluated key.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crc32 } from 'node:zlib';
import { PeerGroup } from '../group.ts';
import { Peer, type PeerSpec } from '../peer.ts';
import { pickOnce, seededRandom, shares } from '../test-helpers.ts';
import { buildChashRing, findChashPoint } from './hash.ts';

const TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** ngx_crc32_long: reflected polynomial 0xedb88320, initial and final xor 0xffffffff. */
function refCrc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of bytes) crc = TABLE[(crc ^ b) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

function refHashPick(key: string, weights: number[], skip: Set<number> = new Set()): number {
  const total = weights.reduce((a, b) => a + b, 0);
  let sum = 0;
  for (let rehash = 0; rehash <= 20; rehash++) {
    sum += (refCrc32(enc(rehash > 0 ? `${rehash}${key}` : key)) >>> 16) & 0x7fff;
    let w = sum % total;
    let p = 0;
    while (w >= weights[p]!) w -= weights[p++]!;
    if (!skip.has(p)) return p;
  }
  return -1;
}

function randomKeys(n: number, seed: number): string[] {
  const rnd = seededRandom(seed);
  return Array.from({ length: n }, () => `/img/${Math.floor(rnd() * 1e9).toString(36)}.jpg`);
}

test('node:zlib crc32 equals nginx\'s CRC-32, also when continued from a previous value', () => {
  assert.equal(crc32('123456789'), 0xcbf43926);
  for (const s of ['', 'a', 'hello world', '/index.html?x=1', 'Ünïcödé', '\u0000\u00ff']) {
    assert.equal(crc32(s), refCrc32(enc(s)), s);
    const bytes = enc(s + 'tail');
    assert.equal(crc32(Buffer.from('tail'), crc32(s)), refCrc32(bytes), `${s} continued`);
  }
});

test('hash picks what nginx\'s Cache::Memcached-style loop picks, with rehash past down peers', () => {
  const names = ['a', 'b', 'c', 'd'];
  for (const { weights, down } of [
    { weights: [1, 1, 1], down: [] as number[] },
    { weights: [1, 4, 2, 1], down: [] },
    { weights: [1, 1, 1, 1], down: [2] },
    { weights: [3, 1, 1, 2], down: [0, 1] },
  ]) {
    const g = new PeerGroup(weights.map((w, i) => ({ address: names[i]!, weight: w, down: down.includes(i) })), 'hash');
    for (const key of randomKeys(200, 7)) {
      assert.equal(pickOnce(g, { hashKey: key }), names[refHashPick(key, weights, new Set(down))], key);
    }
  }
});

test('hash over 100,000 random keys follows the weights within 1 %', () => {
  const g = new PeerGroup([{ address: 'a', weight: 3 }, { address: 'b', weight: 2 }, { address: 'c' }], 'hash');
  const keys = randomKeys(100_000, 42);
  const s = shares(g, keys.length, (i) => ({ hashKey: keys[i]! }));
  for (const [addr, w] of [['a', 0.5], ['b', 1 / 3], ['c', 1 / 6]] as const) {
    assert.ok(Math.abs(s.get(addr)! - w) < 0.01, `${addr}: ${s.get(addr)}`);
  }
});

test('an empty key falls back to round robin', () => {
  const g = new PeerGroup([{ address: 'a' }, { address: 'b' }], 'hash');
  assert.deepEqual([pickOnce(g), pickOnce(g), pickOnce(g)], ['a', 'b', 'a']);
});

test('the ketama ring is nginx\'s: crc32(host \\0 port prev), 160 points per weight, sorted', () => {
  const peers = [
    new Peer(0, { address: '10.0.0.1:8080' }),
    new Peer(1, { address: '10.0.0.2:8080', weight: 2 }),
    new Peer(2, { address: 'unix:/run/app.sock' }),
    new Peer(3, { address: '[2001:db8::5]:80', server: 'backend.example:80' }),
  ];
  const ring = buildChashRing(peers);
  const want: { hash: number; address: string }[] = [];
  for (const [host, port, weight, address] of [
    ['10.0.0.1', '8080', 1, '10.0.0.1:8080'],
    ['10.0.0.2', '8080', 2, '10.0.0.2:8080'],
    ['/run/app.sock', '', 1, 'unix:/run/app.sock'],
    ['backend.example', '80', 1, '[2001:db8::5]:80'],
  ] as const) {
    let prev = new Uint8Array(4);
    for (let j = 0; j < weight * 160; j++) {
      const h = refCrc32(new Uint8Array([...enc(host), 0, ...enc(port), ...prev]));
      want.push({ hash: h, address });
      prev = new Uint8Array([h & 0xff, (h >>> 8) & 0xff, (h >>> 16) & 0xff, h >>> 24]);
    }
  }
  want.sort((x, y) => x.hash - y.hash);
  assert.equal(ring.hashes.length, 5 * 160);
  assert.deepEqual([...ring.hashes], want.map((w) => w.hash));
  assert.deepEqual(ring.owners.map((o) => o[0]!.address), want.map((w) => w.address));
  assert.equal(findChashPoint(ring, 0), 0);
  assert.equal(findChashPoint(ring, 0xffffffff), ring.hashes[ring.hashes.length - 1] === 0xffffffff ? ring.hashes.length - 1 : ring.hashes.length);
  const mid = ring.hashes[100]!;
  assert.equal(findChashPoint(ring, mid), 100);
  assert.equal(findChashPoint(ring, mid + 1), 101);
});

test('consistent: a key goes to the owner of the first point at or after crc32(key), wrapping', () => {
  const specs: PeerSpec[] = [{ address: '10.0.0.1:80' }, { address: '10.0.0.2:80' }, { address: '10.0.0.3:80' }];
  const g = new PeerGroup(specs, 'hash_consistent');
  const ring = buildChashRing(specs.map((s, i) => new Peer(i, s)));
  for (const key of randomKeys(500, 3)) {
    const i = findChashPoint(ring, refCrc32(enc(key))) % ring.hashes.length;
    assert.equal(pickOnce(g, { hashKey: key }), ring.owners[i]![0]!.address);
  }
});

function assignments(specs: PeerSpec[], keys: string[]): string[] {
  const g = new PeerGroup(specs, 'hash_consistent');
  return keys.map((k) => pickOnce(g, { hashKey: k }));
}

test('consistent: adding a 4th peer to 3 moves about a quarter of 10,000 keys, all to the new peer', () => {
  const keys = randomKeys(10_000, 11);
  const three: PeerSpec[] = [{ address: '10.0.0.1:80' }, { address: '10.0.0.2:80' }, { address: '10.0.0.3:80' }];
  const before = assignments(three, keys);
  const after = assignments([...three, { address: '10.0.0.4:80' }], keys);
  let moved = 0;
  for (let i = 0; i < keys.length; i++) {
    if (before[i] === after[i]) continue;
    moved++;
    assert.equal(after[i], '10.0.0.4:80');
  }
  assert.ok(moved / keys.length <= 0.25 + 0.05, `moved ${moved}`);
  assert.ok(moved > 0);
});

test('consistent: removing a peer moves only its keys; a down peer\'s keys go where removal sends them', () => {
  const keys = randomKeys(10_000, 13);
  const four: PeerSpec[] = ['1', '2', '3', '4'].map((n) => ({ address: `10.0.0.${n}:80` }));
  const before = assignments(four, keys);
  const removed = assignments(four.filter((s) => s.address !== '10.0.0.2:80'), keys);
  const down = assignments(four.map((s) => (s.address === '10.0.0.2:80' ? { ...s, down: true } : s)), keys);
  for (let i = 0; i < keys.length; i++) {
    if (before[i] !== '10.0.0.2:80') assert.equal(removed[i], before[i]);
    else assert.notEqual(removed[i], '10.0.0.2:80');
    assert.equal(down[i], removed[i]);
  }
});

test('consistent: peers resolved from one server name share its points, rotated by weight', () => {
  const g = new PeerGroup(
    [
      { address: '192.0.2.1:80', server: 'app.example:80' },
      { address: '192.0.2.2:80', server: 'app.example:80' },
      { address: '10.0.0.9:80' },
    ],
    'hash_consistent',
  );
  const keys = randomKeys(2_000, 5);
  const s = shares(g, keys.length, (i) => ({ hashKey: keys[i]! }));
  assert.ok(Math.abs(s.get('192.0.2.1:80')! - s.get('192.0.2.2:80')!) < 0.02);
});
