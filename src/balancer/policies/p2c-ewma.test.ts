// p2c_ewma: the cost formula, the peak-EWMA updates and decay, and that two choices favour the fast peer.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PeerGroup } from '../group.ts';
import { EWMA_DECAY_MS, INITIAL_LATENCY_MS, observeLatency, readLatency } from '../latency-ewma.ts';
import { Peer } from '../peer.ts';
import { createTried } from '../tried.ts';
import { fakeClock, seededRandom } from '../test-helpers.ts';
import { p2cCost } from './p2c-ewma.ts';

test('peak-EWMA: peaks at once, averages down over time, decays while idle', () => {
  const p = new Peer(0, { address: 'a' });
  p.latencyEwmaMs = 100;
  p.latencyStampMs = 0;
  observeLatency(p, 400, 0);
  assert.equal(p.latencyEwmaMs, 400);
  observeLatency(p, 100, EWMA_DECAY_MS);
  const w = Math.exp(-1);
  assert.ok(Math.abs(p.latencyEwmaMs - (400 * w + 100 * (1 - w))) < 1e-9);
  assert.ok(Math.abs(readLatency(p, 2 * EWMA_DECAY_MS) - p.latencyEwmaMs * w) < 1e-9);
  p.conns = 3;
  assert.ok(Math.abs(p2cCost(p, EWMA_DECAY_MS) - p.latencyEwmaMs * 4) < 1e-9);
});

test('prefers the peer with lower latency times (conns + 1)', () => {
  const clock = fakeClock();
  const g = new PeerGroup([{ address: 'fast' }, { address: 'slow' }], 'p2c_ewma', { now: clock.now, random: seededRandom(9) });
  assert.equal(g.peers[0]!.latencyEwmaMs, INITIAL_LATENCY_MS);
  const [fast, slow] = g.peers as [Peer, Peer];
  for (const [peer, ms] of [[fast, 5], [slow, 200]] as const) {
    peer.conns++;
    g.release(peer, 'ok', ms);
  }
  let fastCount = 0;
  for (let i = 0; i < 1_000; i++) {
    clock.advance(1);
    const r = g.pick({ tried: createTried() });
    if (r.peer === fast) fastCount++;
    g.release(r.peer!, 'ok', r.peer === fast ? 5 : 200);
  }
  assert.equal(fastCount, 1_000);
  assert.equal(slow.conns, 0);
  // held requests: each goes to the lower latency * (conns + 1), so the two costs end within one step
  for (let i = 0; i < 60; i++) g.pick({ tried: createTried() });
  const lf = readLatency(fast, clock.now());
  const ls = readLatency(slow, clock.now());
  assert.ok(lf < ls);
  assert.equal(fast.conns + slow.conns, 60);
  assert.ok(slow.conns > 0 && fast.conns > slow.conns, `${fast.conns} ${slow.conns}`);
  assert.ok(lf * fast.conns <= ls * (slow.conns + 1) && ls * slow.conns <= lf * (fast.conns + 1));
});

test('a failure counts as a slow response', () => {
  const clock = fakeClock();
  const g = new PeerGroup([{ address: 'a', maxFails: 0 }, { address: 'b', maxFails: 0 }], 'p2c_ewma', { now: clock.now, random: seededRandom(4) });
  const r = g.pick({ tried: createTried() });
  g.release(r.peer!, 'fail', 1);
  assert.ok(r.peer!.latencyEwmaMs >= 1_000);
  clock.advance(1);
  const other = g.peers.find((p) => p !== r.peer)!;
  assert.equal(g.pick({ tried: createTried() }).peer, other);
});
