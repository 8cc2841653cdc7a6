// least_conn: fewest connections per weight by cross multiplication, ties by smooth weighted round robin
// among the tied peers only, and the long-run distribution with instant release.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PeerGroup } from '../group.ts';
import { createTried } from '../tried.ts';
import { shares } from '../test-helpers.ts';

function hold(g: PeerGroup): string {
  const r = g.pick({ tried: createTried() });
  assert.ok(r.peer, r.error);
  return r.peer.address;
}

test('picks the fewest connections per weight', () => {
  const g = new PeerGroup([{ address: 'a', weight: 2 }, { address: 'b' }], 'least_conn');
  // held picks: tie 0/2 vs 0/1 -> round robin among both, a (cw 2 vs 1);
  // then a 1/2 vs b 0/1 -> b; then 1/2 vs 1/1 -> a (1*1 < 1*2); then 2/2 vs 1/1 tie -> round robin
  assert.deepEqual([hold(g), hold(g), hold(g)], ['a', 'b', 'a']);
  assert.equal(g.peers[0]!.conns, 2);
  assert.equal(g.peers[1]!.conns, 1);
});

test('ties are broken by smooth weighted round robin among the tied peers only', () => {
  const g = new PeerGroup([{ address: 'a', weight: 5 }, { address: 'b' }, { address: 'c' }], 'least_conn');
  const seq: string[] = [];
  for (let i = 0; i < 7; i++) {
    const r = g.pick({ tried: createTried() });
    seq.push(r.peer!.address);
    g.release(r.peer!, 'ok');
  }
  assert.deepEqual(seq, ['a', 'a', 'b', 'a', 'c', 'a', 'a']);

  const h = new PeerGroup([{ address: 'a' }, { address: 'b' }, { address: 'c' }], 'least_conn');
  const busy = h.pick({ tried: createTried() }).peer!;
  assert.equal(busy.address, 'a');
  const rest: string[] = [];
  for (let i = 0; i < 4; i++) {
    const r = h.pick({ tried: createTried() });
    rest.push(r.peer!.address);
    h.release(r.peer!, 'ok');
  }
  assert.deepEqual(rest, ['b', 'c', 'b', 'c']);
});

test('100,000 picks with instant release follow the weights within 1 %', () => {
  const g = new PeerGroup([{ address: 'a', weight: 5 }, { address: 'b', weight: 3 }, { address: 'c', weight: 2 }], 'least_conn');
  const s = shares(g, 100_000);
  for (const [addr, w] of [['a', 0.5], ['b', 0.3], ['c', 0.2]] as const) {
    assert.ok(Math.abs(s.get(addr)! - w) < 0.01, `${addr}: ${s.get(addr)}`);
  }
});
