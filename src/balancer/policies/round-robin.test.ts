// Smooth weighted round robin against sequences derived by hand from nginx's ngx_http_upstream_get_peer,
// and its long-run distribution. Not the group's failure bookkeeping: see group.test.ts.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PeerGroup } from '../group.ts';
import { createTried } from '../tried.ts';
import { fakeClock, pickOnce, sequence, shares } from '../test-helpers.ts';

test('weights 5,1,1 give nginx\'s a a b a c a a', () => {
  const g = new PeerGroup(
    [
      { address: 'a', weight: 5 },
      { address: 'b', weight: 1 },
      { address: 'c', weight: 1 },
    ],
    'round_robin',
  );
  assert.deepEqual(sequence(g, 14), ['a', 'a', 'b', 'a', 'c', 'a', 'a', 'a', 'a', 'b', 'a', 'c', 'a', 'a']);
});

test('equal weights rotate in configuration order', () => {
  const g = new PeerGroup([{ address: 'a' }, { address: 'b' }, { address: 'c' }], 'round_robin');
  assert.deepEqual(sequence(g, 7), ['a', 'b', 'c', 'a', 'b', 'c', 'a']);
});

test('two peers 3,1: a failure lowers effective weight, which climbs back one per pass', () => {
  // current weights (a,b), effective a:
  // 1: (3,1) -> a, (-1,1); fail: eff a = 3 - 3/3 = 2 (fails 1 < max_fails 3, still usable)
  // 2: (-1+2, 1+1) = (1,2) -> b, total 3 -> (1,-1); eff a back to 3
  // 3: (4,0) -> a -> (0,0)   4: (3,1) -> a -> (-1,1)   5: (2,2) -> a (first wins ties) -> (-2,2)
  // 6: (1,3) -> b
  const clock = fakeClock();
  const g = new PeerGroup([{ address: 'a', weight: 3, maxFails: 3 }, { address: 'b' }], 'round_robin', { now: clock.now });
  assert.equal(pickOnce(g, {}, 'fail'), 'a');
  assert.deepEqual(sequence(g, 5), ['b', 'a', 'a', 'a', 'b']);
  // without the failure nginx gives a a b a a a b a
  const h = new PeerGroup([{ address: 'a', weight: 3, maxFails: 3 }, { address: 'b' }], 'round_robin');
  assert.deepEqual(sequence(h, 8), ['a', 'a', 'b', 'a', 'a', 'a', 'b', 'a']);
});

test('two peers, max_fails=1: the failed peer sits out fail_timeout, then rejoins at effective weight 0', () => {
  // 1: (1,1) -> a, (-1,1); fail: a disabled, eff a = 0
  // alone, b stays at current weight 1
  // after fail_timeout: (-1+0, 1+1) -> b, total 1 -> (-1,1); eff a 1
  //                     (0, 2) -> b, total 2 -> (0,0)
  //                     (1, 1) -> a -> (-1,1)
  const clock = fakeClock();
  const g = new PeerGroup([{ address: 'a' }, { address: 'b' }], 'round_robin', { now: clock.now });
  assert.equal(pickOnce(g, {}, 'fail'), 'a');
  assert.deepEqual(sequence(g, 3), ['b', 'b', 'b']);
  clock.advance(10_000);
  assert.equal(pickOnce(g), 'b', 'still within fail_timeout (inclusive)');
  clock.advance(1);
  assert.deepEqual(sequence(g, 5), ['b', 'b', 'a', 'b', 'a']);
  assert.equal(g.peers[0]!.fails, 0, 'success after the check resets fails');
});

test('a retry within one request skips the peer already tried', () => {
  const g = new PeerGroup([{ address: 'a' }, { address: 'b' }, { address: 'c' }], 'round_robin');
  const tried = createTried();
  const seen: string[] = [];
  for (let i = 0; i < 3; i++) {
    const r = g.pick({ tried });
    assert.ok(r.peer);
    seen.push(r.peer.address);
    g.release(r.peer, 'fail');
  }
  assert.deepEqual(seen.sort(), ['a', 'b', 'c']);
  assert.deepEqual(g.pick({ tried }), { error: 'no-live-peers' });
});

test('100,000 picks follow the weights within 1 %', () => {
  const g = new PeerGroup(
    [
      { address: 'a', weight: 5 },
      { address: 'b', weight: 3 },
      { address: 'c', weight: 2 },
    ],
    'round_robin',
  );
  const s = shares(g, 100_000);
  for (const [addr, w] of [['a', 0.5], ['b', 0.3], ['c', 0.2]] as const) {
    assert.ok(Math.abs(s.get(addr)! - w) < 0.01, `${addr}: ${s.get(addr)}`);
  }
});
