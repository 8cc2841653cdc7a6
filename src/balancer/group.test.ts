// PeerGroup: nginx's failure bookkeeping on release (max_fails, fail_timeout, effective weight), the
// single-peer rule, backup tiers, max_conns and its own error, health, and the per-request tried set,
// checked for every policy. Policy-specific orders live beside each policy.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isPorticoError } from '../core/errors.ts';
import { PeerGroup } from './group.ts';
import type { PeerSpec } from './peer.ts';
import { POLICIES_WITHOUT_BACKUP, POLICY_NAMES, type PickContext } from './policy.ts';
import { createTried } from './tried.ts';
import { fakeClock, pickOnce, seededRandom, sequence } from './test-helpers.ts';

const ctxFor = (i: number): Omit<PickContext, 'tried'> => ({ clientIp: `10.${i & 0xff}.${(i >> 8) & 0xff}.1`, hashKey: `/k/${i}` });

function group(specs: PeerSpec[], policy: (typeof POLICY_NAMES)[number], now?: () => number): PeerGroup {
  return new PeerGroup(specs, policy, { now, random: seededRandom(17) });
}

test('max_fails failures within fail_timeout take a peer out; after it one probe is let through', () => {
  const clock = fakeClock();
  const g = group([{ address: 'a', maxFails: 2 }, { address: 'b', maxFails: 2 }], 'round_robin', clock.now);
  const [a] = g.peers;
  assert.equal(pickOnce(g, {}, 'fail'), 'a');
  assert.equal(a!.fails, 1);
  assert.equal(a!.effectiveWeight, 1, 'weight 1 / max_fails 2 rounds to nothing');
  assert.deepEqual(sequence(g, 2), ['b', 'a'], 'still usable below max_fails');
  assert.equal(a!.fails, 1, 'a success within fail_timeout of the failure does not reset');
  clock.advance(1_000);
  while (pickOnce(g, {}, 'fail') !== 'a');
  assert.equal(a!.fails, 2);
  assert.deepEqual(sequence(g, 4), ['b', 'b', 'b', 'b']);

  clock.advance(10_001);
  let probe = g.pick({ tried: createTried() }).peer!;
  while (probe.address !== 'a') probe = g.pick({ tried: createTried() }).peer!;
  for (let i = 0; i < 5; i++) assert.equal(g.pick({ tried: createTried() }).peer!.address, 'b', 'one probe at a time');
  g.release(probe, 'ok');
  assert.equal(a!.fails, 0, 'a success after the check clears fails');
});

test('a failed probe after fail_timeout takes the peer out again at once (fails keep counting)', () => {
  const clock = fakeClock();
  const g = group([{ address: 'a', maxFails: 3 }, { address: 'b', maxFails: 3 }], 'least_conn', clock.now);
  const a = g.peers[0]!;
  for (let n = 0; n < 3; ) {
    const peer = g.pick({ tried: createTried() }).peer!;
    g.release(peer, peer === a ? 'fail' : 'ok');
    if (peer === a) n++;
  }
  assert.equal(a.fails, 3);
  assert.ok(a.failDisabled(clock.now()));
  clock.advance(10_001);
  assert.ok(!a.failDisabled(clock.now()));
  while (pickOnce(g, {}, 'fail') !== 'a');
  assert.equal(a.fails, 4);
  assert.ok(a.failDisabled(clock.now()), 'out for another fail_timeout');
});

test('fails below max_fails accumulate across quiet periods until a success after a check', () => {
  const clock = fakeClock();
  const g = group([{ address: 'a', maxFails: 2 }, { address: 'b', maxFails: 2 }], 'round_robin', clock.now);
  const a = g.peers[0]!;
  assert.equal(pickOnce(g, {}, 'fail'), 'a');
  clock.advance(60_000);
  while (pickOnce(g, {}, 'fail') !== 'a');
  assert.equal(a.fails, 2, 'nginx does not reset fails when a failure comes after fail_timeout');
  assert.ok(a.failDisabled(clock.now()));
});

test('effective weight drops by weight / max_fails per failure and climbs back by one per pass', () => {
  const clock = fakeClock();
  const g = group([{ address: 'a', weight: 6, maxFails: 3 }, { address: 'b', maxFails: 0 }], 'round_robin', clock.now);
  const a = g.peers[0]!;
  assert.equal(pickOnce(g, {}, 'fail'), 'a');
  assert.equal(a.effectiveWeight, 4);
  g.release(a, 'fail');
  assert.equal(a.effectiveWeight, 2);
  g.release(a, 'fail');
  g.release(a, 'fail');
  assert.equal(a.effectiveWeight, 0, 'never below zero');
  clock.advance(10_001);
  for (let i = 1; i <= 6; i++) {
    pickOnce(g);
    assert.equal(a.effectiveWeight, Math.min(6, i));
  }
});

test('max_fails=0 never takes a peer out', () => {
  const g = group([{ address: 'a', maxFails: 0 }, { address: 'b', maxFails: 0 }], 'round_robin');
  for (let i = 0; i < 10; i++) pickOnce(g, {}, 'fail');
  assert.deepEqual(sequence(g, 2).sort(), ['a', 'b']);
});

test('a single peer is never marked unavailable by failures, but down, health and max_conns still apply', () => {
  for (const policy of POLICY_NAMES) {
    const clock = fakeClock();
    const g = group([{ address: 'only', maxConns: 1 }], policy, clock.now);
    for (let i = 0; i < 5; i++) assert.equal(pickOnce(g, ctxFor(i), 'fail'), 'only', policy);
    assert.equal(g.peers[0]!.fails, 0);
    const held = g.pick({ tried: createTried() });
    assert.deepEqual(g.pick({ tried: createTried() }), { error: 'max-conns' }, policy);
    g.release(held.peer!, 'ok');
    g.setHealth(g.peers[0]!, false);
    assert.equal(pickOnce(g), 'no-live-peers');
    g.setHealth(g.peers[0]!, true);
    g.peers[0]!.down = true;
    assert.equal(pickOnce(g), 'no-live-peers');
  }
  const withBackup = group([{ address: 'p' }, { address: 'k', backup: true }], 'round_robin');
  assert.equal(pickOnce(withBackup, {}, 'fail'), 'p');
  assert.equal(pickOnce(withBackup), 'k', 'one primary plus a backup is not single: the primary fails out');
});

test('backups are used only when every primary is unavailable, and a request that fell to them stays', () => {
  for (const policy of ['round_robin', 'least_conn', 'p2c_ewma'] as const) {
    const clock = fakeClock();
    const g = group(
      [{ address: 'a' }, { address: 'b' }, { address: 'x', backup: true }, { address: 'y', backup: true }],
      policy,
      clock.now,
    );
    for (let i = 0; i < 50; i++) assert.ok(!['x', 'y'].includes(pickOnce(g)), policy);

    const tried = createTried();
    const order: string[] = [];
    for (;;) {
      const r = g.pick({ tried });
      if (r.error) {
        assert.equal(r.error, 'no-live-peers');
        break;
      }
      order.push(r.peer.address);
      g.release(r.peer, 'fail');
    }
    assert.deepEqual(order.slice(0, 2).sort(), ['a', 'b'], policy);
    assert.deepEqual(order.slice(2).sort(), ['x', 'y'], policy);
    assert.equal(tried.tier, 1);

    clock.advance(10_001);
    assert.ok(['a', 'b'].includes(pickOnce(g)), `${policy}: primaries again after fail_timeout`);

    g.peers[0]!.down = true;
    g.setHealth(g.peers[1]!, false);
    for (let i = 0; i < 10; i++) assert.ok(['x', 'y'].includes(pickOnce(g)), policy);
  }
});

test('every policy: down and unhealthy peers are never picked', () => {
  for (const policy of POLICY_NAMES) {
    const g = group([{ address: 'a' }, { address: 'b', down: true }, { address: 'c', weight: 3 }, { address: 'd' }], policy);
    g.setHealth(g.peers[3]!, false);
    const seen = new Set<string>();
    for (let i = 0; i < 2_000; i++) seen.add(pickOnce(g, ctxFor(i)));
    assert.deepEqual([...seen].sort(), ['a', 'c'], policy);
    g.setHealth(g.peers[3]!, true);
    for (let i = 0; i < 2_000; i++) seen.add(pickOnce(g, ctxFor(i)));
    assert.ok(seen.has('d'), `${policy}: healthy again`);
  }
});

test('every policy: one request tries each peer at most once, then reports no live peers', () => {
  for (const policy of POLICY_NAMES) {
    const g = group([{ address: 'a', maxFails: 0 }, { address: 'b', maxFails: 0 }, { address: 'c', maxFails: 0 }, { address: 'd', down: true }], policy);
    for (let i = 0; i < 50; i++) {
      const tried = createTried();
      const seen: string[] = [];
      for (;;) {
        const r = g.pick({ ...ctxFor(i), tried });
        if (r.error) {
          assert.equal(r.error, 'no-live-peers', policy);
          break;
        }
        seen.push(r.peer.address);
        g.release(r.peer, 'fail');
      }
      assert.deepEqual(seen.sort(), ['a', 'b', 'c'], policy);
    }
  }
});

test('every policy: max_conns is honoured, and reported when it is the only reason nothing is left', () => {
  for (const policy of POLICY_NAMES) {
    const g = group([{ address: 'a', maxConns: 2 }, { address: 'b', maxConns: 1 }, { address: 'c', down: true }], policy);
    const held = [];
    for (let i = 0; i < 3; i++) {
      const r = g.pick({ ...ctxFor(i), tried: createTried() });
      assert.ok(r.peer, `${policy}: ${r.error}`);
      held.push(r.peer);
    }
    assert.equal(g.peers[0]!.conns, 2, policy);
    assert.equal(g.peers[1]!.conns, 1, policy);
    assert.deepEqual(g.pick({ ...ctxFor(9), tried: createTried() }), { error: 'max-conns' }, policy);

    g.setHealth(g.peers[0]!, false);
    g.peers[1]!.down = true;
    assert.deepEqual(g.pick({ ...ctxFor(9), tried: createTried() }), { error: 'no-live-peers' }, policy);
    g.setHealth(g.peers[0]!, true);
    g.peers[1]!.down = false;

    g.release(held[0]!, 'ok');
    const r = g.pick({ ...ctxFor(9), tried: createTried() });
    assert.equal(r.peer, held[0], policy);
  }
});

test('a full peer and failed-out others: max-conns; all failed out: no-live-peers', () => {
  const g = group([{ address: 'a', maxConns: 1 }, { address: 'b' }], 'round_robin');
  const held = g.pick({ tried: createTried() }).peer!;
  assert.equal(held.address, 'a');
  assert.equal(pickOnce(g, {}, 'fail'), 'b');
  assert.equal(pickOnce(g), 'max-conns');
  g.release(held, 'fail');
  assert.equal(pickOnce(g), 'no-live-peers');
});

test('construction: nginx\'s wording for backup with hash methods, empty groups and bad numbers', () => {
  const rejects = (fn: () => unknown, message: string): void =>
    assert.throws(fn, (e: unknown) => isPorticoError(e, 'balancer-config') && e.message === message && e.source === 'config');
  for (const policy of POLICIES_WITHOUT_BACKUP) {
    rejects(() => new PeerGroup([{ address: 'a' }, { address: 'b', backup: true }], policy), 'balancing method does not support parameter "backup"');
  }
  for (const policy of ['round_robin', 'least_conn', 'p2c_ewma'] as const) {
    assert.ok(new PeerGroup([{ address: 'a' }, { address: 'b', backup: true }], policy).backup);
  }
  rejects(() => new PeerGroup([{ address: 'b', backup: true }], 'round_robin', { name: 'app' }), 'no servers in upstream "app"');
  rejects(() => new PeerGroup([], 'least_conn', { name: 'app' }), 'no servers in upstream "app"');
  rejects(() => new PeerGroup([{ address: 'a', weight: 0 }], 'round_robin'), 'invalid parameter "weight=0"');
  rejects(() => new PeerGroup([{ address: 'a', maxFails: -1 }], 'round_robin'), 'invalid parameter "max_fails=-1"');
  rejects(() => new PeerGroup([{ address: 'a' }], 'fastest' as never), 'unknown load balancing method "fastest"');
});

test('peers are ordered primaries first; release never drives conns below zero', () => {
  const g = group([{ address: 'k', backup: true }, { address: 'a' }], 'round_robin');
  assert.deepEqual(g.peers.map((p) => [p.id, p.address, p.backup]), [[0, 'a', false], [1, 'k', true]]);
  assert.equal(g.peers[0]!.maxFails, 1);
  assert.equal(g.peers[0]!.failTimeoutMs, 10_000);
  g.release(g.peers[0]!, 'ok');
  assert.equal(g.peers[0]!.conns, 0);
});
