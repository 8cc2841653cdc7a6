// Tests for the keepalive cache: reuse, keepalive N / _requests / _time / _timeout, idle sockets the peer closes,
// connections that must not come back. Real loopback sockets only.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConnectionPool, type Connection } from './pool.ts';
import { peerKey } from './dial.ts';
import type { KeepaliveOptions, PeerAddress } from './types.ts';
import { netOrigin, type NetOrigin } from './test-helpers.ts';

/** A loopback origin that accepts connections and never answers. */
const origin = (): Promise<NetOrigin> => netOrigin(() => {});

function ka(over: Partial<KeepaliveOptions> = {}): KeepaliveOptions {
  return { max: 8, requests: 1000, timeMs: 3_600_000, timeoutMs: 60_000, ...over };
}

function connect(pool: ConnectionPool, peer: PeerAddress): Promise<Connection> {
  return new Promise((resolve, reject) => {
    pool.connect(peer, peerKey(peer), 1000, (err, conn) => (err ? reject(err) : resolve(conn!)));
  });
}

test('a released connection is reused, most recent first, and dials are counted', async () => {
  const o = await origin();
  const pool = new ConnectionPool(ka());
  const key = peerKey(o.peer);
  const a = await connect(pool, o.peer);
  const b = await connect(pool, o.peer);
  pool.release(a, true);
  pool.release(b, true);
  assert.equal(pool.idleCount, 2);
  assert.equal(pool.take(key), b);
  assert.equal(pool.take(key), a);
  assert.equal(pool.take(key), null);
  assert.deepEqual(pool.stats, { dials: 2, reuses: 2 });
  assert.equal(a.requests, 2);
  await pool.close();
  await o.close();
});

test('keepalive N keeps at most N idle connections, dropping the oldest', async () => {
  const o = await origin();
  const pool = new ConnectionPool(ka({ max: 2 }));
  const conns = [await connect(pool, o.peer), await connect(pool, o.peer), await connect(pool, o.peer)];
  for (const c of conns) pool.release(c, true);
  assert.equal(pool.idleCount, 2);
  assert.equal(conns[0].socket.destroyed, true);
  assert.equal(conns[0].state, 'closed');
  assert.equal(pool.take(peerKey(o.peer)), conns[2]);
  await pool.close();
  await o.close();
});

test('keepalive 0 caches nothing', async () => {
  const o = await origin();
  const pool = new ConnectionPool(ka({ max: 0 }));
  const c = await connect(pool, o.peer);
  pool.release(c, true);
  assert.equal(pool.idleCount, 0);
  assert.equal(c.socket.destroyed, true);
  await o.close();
});

test('keepalive_requests: a connection that served its quota is closed', async () => {
  const o = await origin();
  const pool = new ConnectionPool(ka({ requests: 2 }));
  const key = peerKey(o.peer);
  const c = await connect(pool, o.peer);
  pool.release(c, true);
  assert.equal(pool.take(key), c);
  pool.release(c, true);
  assert.equal(c.socket.destroyed, true);
  assert.equal(pool.take(key), null);
  await o.close();
});

test('keepalive_time: a connection older than the limit is not cached', async () => {
  const o = await origin();
  const pool = new ConnectionPool(ka({ timeMs: 30 }));
  const c = await connect(pool, o.peer);
  await sleep(60);
  pool.release(c, true);
  assert.equal(pool.idleCount, 0);
  assert.equal(c.socket.destroyed, true);
  await o.close();
});

test('keepalive_timeout: an idle connection is closed after the timeout', async () => {
  const o = await origin();
  const pool = new ConnectionPool(ka({ timeoutMs: 80 }));
  const c = await connect(pool, o.peer);
  pool.release(c, true);
  assert.equal(pool.idleCount, 1);
  await once(c.socket, 'close');
  assert.equal(pool.idleCount, 0);
  assert.equal(pool.take(peerKey(o.peer)), null);
  await o.close();
});

test('an idle connection the peer closes leaves the cache at once', async () => {
  const o = await origin();
  const pool = new ConnectionPool(ka());
  const c = await connect(pool, o.peer);
  pool.release(c, true);
  await sleep(10);
  o.sockets[0].end();
  await once(c.socket, 'close');
  assert.equal(pool.idleCount, 0);
  assert.equal(c.state, 'closed');
  await o.close();
});

test('an idle connection that receives stray bytes is closed', async () => {
  const o = await origin();
  const pool = new ConnectionPool(ka());
  const c = await connect(pool, o.peer);
  pool.release(c, true);
  await sleep(10);
  o.sockets[0].write('junk');
  await once(c.socket, 'close');
  assert.equal(pool.idleCount, 0);
  await o.close();
});

test('release(false) and destroy() never cache; close() empties the cache', async () => {
  const o = await origin();
  const pool = new ConnectionPool(ka());
  const a = await connect(pool, o.peer);
  const b = await connect(pool, o.peer);
  const c = await connect(pool, o.peer);
  pool.release(a, false);
  pool.destroy(b);
  pool.release(c, true);
  assert.equal(a.socket.destroyed, true);
  assert.equal(b.socket.destroyed, true);
  assert.equal(pool.idleCount, 1);
  await pool.close();
  assert.equal(c.socket.destroyed, true);
  assert.equal(pool.idleCount, 0);
  const d = await connect(pool, o.peer);
  pool.release(d, true);
  assert.equal(d.socket.destroyed, true, 'a closed pool caches nothing');
  await o.close();
});

test('connections to different peers are kept apart', async () => {
  const o1 = await origin();
  const o2 = await origin();
  const pool = new ConnectionPool(ka());
  const a = await connect(pool, o1.peer);
  pool.release(a, true);
  assert.equal(pool.take(peerKey(o2.peer)), null);
  assert.equal(pool.take(peerKey(o1.peer)), a);
  pool.destroy(a);
  await o1.close();
  await o2.close();
});
