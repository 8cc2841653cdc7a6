// limit_conn counting: per-key counts up to the limit, several limits taken in order and given back together when
// one rejects, states freed at zero, a full zone rejecting instead of evicting. Not the phase hook.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { acquireConnections, ConnZone, releaseConnections, type ConnTicket } from './limit-conn.ts';

function zones(...names: [string, number?][]): Map<string, ConnZone> {
  return new Map(names.map(([name, size]) => [name, new ConnZone({ name, size: size ?? 1024 * 1024, key: '$k' })]));
}

test('counts requests in progress per key up to the limit', () => {
  const z = zones(['addr']);
  const c = [{ zone: 'addr', key: '10.0.0.1', conn: 2 }];
  const a = acquireConnections(z, c);
  const b = acquireConnections(z, c);
  assert.equal(a.kind, 'passed');
  assert.equal(b.kind, 'passed');
  assert.deepEqual(acquireConnections(z, c), { kind: 'rejected', zone: 'addr', exhausted: false });
  assert.equal(acquireConnections(z, [{ zone: 'addr', key: '10.0.0.2', conn: 2 }]).kind, 'passed');
  releaseConnections((a as { ticket: ConnTicket }).ticket);
  assert.equal(acquireConnections(z, c).kind, 'passed');
  assert.equal(z.get('addr')?.count('10.0.0.1'), 2);
});

test('an empty key is not counted; no key at all declines', () => {
  const z = zones(['addr']);
  assert.deepEqual(acquireConnections(z, [{ zone: 'addr', key: '', conn: 1 }]), { kind: 'declined' });
  assert.equal(z.get('addr')?.size, 0);
});

test('a rejection by a later limit gives back what the earlier ones took', () => {
  const z = zones(['perip'], ['perserver']);
  const c = (ip: string) => [
    { zone: 'perip', key: ip, conn: 10 },
    { zone: 'perserver', key: 'srv', conn: 1 },
  ];
  const first = acquireConnections(z, c('1.1.1.1'));
  assert.equal(first.kind, 'passed');
  assert.deepEqual(acquireConnections(z, c('2.2.2.2')), { kind: 'rejected', zone: 'perserver', exhausted: false });
  assert.equal(z.get('perip')?.count('2.2.2.2'), 0);
  assert.equal(z.get('perip')?.size, 1);
  releaseConnections((first as { ticket: ConnTicket }).ticket);
  assert.equal(z.get('perip')?.size, 0);
  assert.equal(z.get('perserver')?.size, 0);
});

test('a full zone rejects new keys (nothing is evicted) until a state is freed', () => {
  const z = zones(['small', 32 * 1024]);
  const tickets: ConnTicket[] = [];
  let i = 0;
  for (;;) {
    const v = acquireConnections(z, [{ zone: 'small', key: `k${String(i++).padStart(7, '0')}`, conn: 1 }]);
    if (v.kind !== 'passed') {
      assert.deepEqual(v, { kind: 'rejected', zone: 'small', exhausted: true });
      break;
    }
    tickets.push(v.ticket as ConnTicket);
  }
  assert.equal(tickets.length, 6 * 64 - 1, '64-byte states: six pages besides the log text page, one chunk holds the zone header');
  releaseConnections(tickets[0]);
  assert.equal(acquireConnections(z, [{ zone: 'small', key: 'new', conn: 1 }]).kind, 'passed');
});
