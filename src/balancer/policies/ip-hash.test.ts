// ip_hash against nginx's algorithm: hand-derived indexes for a few clients, and an independent
// straightforward re-implementation for more addresses, rehash on down peers and IPv6.
// Not a test of the fallback's round robin order: see round-robin.test.ts.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PeerGroup } from '../group.ts';
import type { PeerSpec } from '../peer.ts';
import { pickOnce, shares } from '../test-helpers.ts';
import { ipHashBytes } from './ip-hash.ts';

function refBytes(ip: string): number[] {
  if (ip.includes('.')) return ip.split('.').slice(0, 3).map(Number);
  const [head, tail] = ip.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t].map((g) => parseInt(g, 16));
  return groups.flatMap((g) => [g >> 8, g & 0xff]);
}

/** nginx's loop, written out plainly: fold the bytes each round, walk the weights, skip down peers. */
function refIpHash(ip: string, weights: number[], down: Set<number> = new Set()): number {
  const total = weights.reduce((a, b) => a + b, 0);
  let hash = 89;
  for (let tries = 0; tries <= 20; tries++) {
    for (const b of refBytes(ip)) hash = (hash * 113 + b) % 6271;
    let w = hash % total;
    let p = 0;
    while (w >= weights[p]!) w -= weights[p++]!;
    if (!down.has(p)) return p;
  }
  return -1;
}

const THREE: PeerSpec[] = [{ address: 'a' }, { address: 'b' }, { address: 'c' }];
const NAMES = ['a', 'b', 'c', 'd', 'e'];

test('hand-derived: 192.168.1.10 and 10.0.0.1 on three equal peers', () => {
  // 192.168.1.10 -> bytes 192,168,1: 89*113+192 = 10249 % 6271 = 3978;
  // 3978*113+168 = 449682 % 6271 = 4441; 4441*113+1 = 501834 % 6271 = 154; 154 % 3 = 1 -> b
  // 10.0.0.1 -> bytes 10,0,0: 89*113+10 = 10067 % 6271 = 3796; 3796*113 = 428948 % 6271 = 2520;
  // 2520*113 = 284760 % 6271 = 2565; 2565 % 3 = 0 -> a
  const g = new PeerGroup(THREE, 'ip_hash');
  assert.equal(pickOnce(g, { clientIp: '192.168.1.10' }), 'b');
  assert.equal(pickOnce(g, { clientIp: '10.0.0.1' }), 'a');
  assert.equal(pickOnce(g, { clientIp: '10.0.0.254' }), 'a', 'only the first three octets count');
});

test('matches a plain re-implementation for many IPv4 and IPv6 clients, weights and down peers', () => {
  const clients = ['127.0.0.1', '192.0.2.33', '198.51.100.7', '203.0.113.200', '8.8.4.4', '2001:db8::1',
    '2001:db8:85a3::8a2e:370:7334', 'fe80::1', '::1'];
  const layouts: { weights: number[]; down: number[] }[] = [
    { weights: [1, 1, 1], down: [] },
    { weights: [3, 1, 2, 1], down: [] },
    { weights: [1, 1, 1], down: [1] },
    { weights: [2, 5, 1, 1, 3], down: [0, 3] },
  ];
  for (const { weights, down } of layouts) {
    const g = new PeerGroup(weights.map((w, i) => ({ address: NAMES[i]!, weight: w, down: down.includes(i) })), 'ip_hash');
    for (const ip of clients) {
      const want = refIpHash(ip, weights, new Set(down));
      assert.equal(pickOnce(g, { clientIp: ip }), NAMES[want], `${ip} on ${weights} down ${down}`);
    }
  }
});

test('address bytes: IPv4 first three octets, IPv6 all sixteen, mapped IPv4 as IPv4, none as three zeros', () => {
  assert.deepEqual(ipHashBytes('1.2.3.4'), [1, 2, 3]);
  assert.deepEqual(ipHashBytes('::ffff:1.2.3.4'), [1, 2, 3]);
  assert.deepEqual(ipHashBytes('2001:db8::1'), [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  assert.deepEqual(ipHashBytes(undefined), [0, 0, 0]);
  assert.deepEqual(ipHashBytes('not an address'), [0, 0, 0]);
});

test('the same client sticks to its peer; a failed-out peer sends it on by rehashing', () => {
  const g = new PeerGroup(THREE, 'ip_hash');
  const first = pickOnce(g, { clientIp: '192.168.1.10' });
  for (let i = 0; i < 5; i++) assert.equal(pickOnce(g, { clientIp: '192.168.1.10' }), first);
  assert.equal(pickOnce(g, { clientIp: '192.168.1.10' }, 'fail'), 'b');
  assert.equal(pickOnce(g, { clientIp: '192.168.1.10' }), NAMES[refIpHash('192.168.1.10', [1, 1, 1], new Set([1]))]);
});

test('spreads distinct /24 networks over the peers by weight', () => {
  const g = new PeerGroup([{ address: 'a', weight: 2 }, { address: 'b' }, { address: 'c' }], 'ip_hash');
  const s = shares(g, 65_536, (i) => ({ clientIp: `${i >> 8}.${i & 0xff}.7.1` }));
  for (const [addr, w] of [['a', 0.5], ['b', 0.25], ['c', 0.25]] as const) {
    assert.ok(Math.abs(s.get(addr)! - w) < 0.02, `${addr}: ${s.get(addr)}`);
  }
});
