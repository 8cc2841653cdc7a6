// random and random two with a seeded RNG: weighted draws, redraws past unusable peers, and the
// two-choices rule (fewer connections per weight, the second drawn on a tie).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PeerGroup } from '../group.ts';
import { createTried } from '../tried.ts';
import { seededRandom, shares } from '../test-helpers.ts';
import { buildRanges, peekWeighted } from './random.ts';
import { Peer } from '../peer.ts';

test('draws by cumulative weight ranges', () => {
  const peers = [new Peer(0, { address: 'a', weight: 2 }), new Peer(1, { address: 'b' }), new Peer(2, { address: 'c', weight: 3 })];
  const ranges = buildRanges(peers);
  assert.deepEqual([...ranges], [0, 2, 3]);
  const at = (x: number): number => peekWeighted(ranges, 6, () => x / 6);
  assert.deepEqual([0, 1, 2, 3, 4, 5].map(at), [0, 0, 1, 2, 2, 2]);
});

test('random: 100,000 picks follow the weights within 1 %', () => {
  const g = new PeerGroup([{ address: 'a', weight: 5 }, { address: 'b', weight: 3 }, { address: 'c', weight: 2 }], 'random', {
    random: seededRandom(1),
  });
  const s = shares(g, 100_000);
  for (const [addr, w] of [['a', 0.5], ['b', 0.3], ['c', 0.2]] as const) {
    assert.ok(Math.abs(s.get(addr)! - w) < 0.01, `${addr}: ${s.get(addr)}`);
  }
});

test('random: skips down and tried peers by drawing again', () => {
  const g = new PeerGroup([{ address: 'a' }, { address: 'b', down: true }, { address: 'c' }], 'random', { random: seededRandom(2) });
  const tried = createTried();
  const first = g.pick({ tried }).peer!;
  const second = g.pick({ tried }).peer!;
  assert.deepEqual([first.address, second.address].sort(), ['a', 'c']);
  assert.deepEqual(g.pick({ tried }), { error: 'no-live-peers' });
});

test('random two: keeps the draw with fewer connections per weight, the second on a tie', () => {
  const draws = [0.1, 0.9];
  let i = 0;
  const g = new PeerGroup([{ address: 'a' }, { address: 'b' }], 'random_two', { random: () => draws[i++ % draws.length]! });
  assert.equal(g.pick({ tried: createTried() }).peer!.address, 'b', 'tie: second draw');
  assert.equal(g.pick({ tried: createTried() }).peer!.address, 'a', 'b now has one connection');
  assert.equal(g.peers[0]!.conns + g.peers[1]!.conns, 2);
});

test('random two: an idle peer draws most traffic away from a loaded one', () => {
  const g = new PeerGroup([{ address: 'a' }, { address: 'b' }, { address: 'c' }], 'random_two', { random: seededRandom(3) });
  for (let k = 0; k < 5; k++) g.peers[0]!.conns++;
  const s = shares(g, 10_000);
  assert.ok((s.get('a') ?? 0) === 0, 'a is never the lower of two');
});
