// The lock table on its own: ownership, hand-over, commit wake-ups, stale leases and close.
// The zone-level collapse of 100 misses is in zone.test.ts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyLocks } from './key-locks.ts';

test('one owner; a commit wakes every waiter to read the entry', async () => {
  const locks = new KeyLocks();
  const owner = await locks.acquire('h', 1000, 1000);
  assert.equal(owner.kind, 'owner');
  const waiters = [locks.acquire('h', 1000, 1000), locks.acquire('h', 1000, 1000)];
  if (owner.kind === 'owner') locks.settle(owner.lease, true);
  assert.deepEqual(await Promise.all(waiters), [{ kind: 'entry' }, { kind: 'entry' }]);
  assert.equal(locks.size, 0);
});

test('a stale lease cannot release the new owner, but its commit still wakes waiters', async () => {
  let now = 0;
  const locks = new KeyLocks(() => now);
  const first = locks.tryAcquire('h', 10)!;
  now = 11;
  const second = locks.tryAcquire('h', 10)!;
  assert.ok(second);
  assert.equal(first.held, false);
  first.release();
  assert.equal(second.held, true);
  const waiter = locks.acquire('h', 1000, 10);
  locks.settle(first, true);
  assert.deepEqual(await waiter, { kind: 'entry' });
  assert.equal(second.held, true);
  second.release();
  assert.equal(locks.size, 0);
});

test('lock_timeout 0 means no waiting; close() turns waiters away', async () => {
  const locks = new KeyLocks();
  locks.tryAcquire('h', 1000);
  assert.deepEqual(await locks.acquire('h', 0, 1000), { kind: 'timeout' });
  const waiter = locks.acquire('h', 5000, 1000);
  locks.closeAll();
  assert.deepEqual(await waiter, { kind: 'timeout' });
  assert.equal(locks.isLocked('h'), false);
});
