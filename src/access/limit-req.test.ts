// The limit_req arithmetic against tables worked out by hand from ngx_http_limit_req_module's algorithm: request
// times in ms -> verdicts (excess in milli-requests, delay in ms), with burst, nodelay, delay=, r/m rates, two
// limits on one request, and the zone's LRU bound. Not the phase hook (test/integration/limits.test.ts).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatExcess, ReqZone, takeRequest, type ReqCheck, type ReqVerdict } from './limit-req.ts';
import { NODELAY } from './limit-directives.ts';

const T0 = 1_700_000_000_000;

function zones(...specs: [string, number, number?][]): Map<string, ReqZone> {
  return new Map(specs.map(([name, rate, size]) => [name, new ReqZone({ name, rate, size: size ?? 1024 * 1024, key: '$k' })]));
}

function short(v: ReqVerdict): string {
  switch (v.kind) {
    case 'declined':
    case 'passed':
      return v.kind;
    case 'delayed':
      return `delayed ${v.delayMs}ms ${formatExcess(v.excess)} ${v.zone}`;
    case 'rejected':
      return `rejected ${formatExcess(v.excess)} ${v.zone}${v.exhausted ? ' exhausted' : ''}`;
  }
}

function run(z: Map<string, ReqZone>, checks: ReqCheck[], times: number[]): string[] {
  return times.map((t) => short(takeRequest(z, checks, T0 + t)));
}

test('rate=1r/s without burst: one request per second, rejections do not charge the bucket', () => {
  const z = zones(['one', 1000]);
  const c = [{ zone: 'one', key: 'a', burst: 0, delay: 0 }];
  assert.deepEqual(run(z, c, [0, 100, 1000, 1500, 2600]), ['passed', 'rejected 0.900 one', 'passed', 'rejected 0.500 one', 'passed']);
});

test('rate=2r/s burst=3: the excess is delayed by excess/rate, beyond the burst rejected', () => {
  const z = zones(['one', 2000]);
  const c = [{ zone: 'one', key: 'a', burst: 3000, delay: 0 }];
  assert.deepEqual(run(z, c, [0, 0, 0, 0, 0, 0, 1000]), [
    'passed',
    'delayed 500ms 1.000 one',
    'delayed 1000ms 2.000 one',
    'delayed 1500ms 3.000 one',
    'rejected 4.000 one',
    'rejected 4.000 one',
    'delayed 1000ms 2.000 one',
  ]);
});

test('nodelay passes the burst at once', () => {
  const z = zones(['one', 2000]);
  const c = [{ zone: 'one', key: 'a', burst: 3000, delay: NODELAY }];
  assert.deepEqual(run(z, c, [0, 0, 0, 0, 0, 0]), ['passed', 'passed', 'passed', 'passed', 'rejected 4.000 one', 'rejected 4.000 one']);
});

test('delay=2 passes two excess requests, delays the rest of the burst', () => {
  const z = zones(['one', 2000]);
  const c = [{ zone: 'one', key: 'a', burst: 3000, delay: 2000 }];
  assert.deepEqual(run(z, c, [0, 0, 0, 0, 0]), ['passed', 'passed', 'passed', 'delayed 500ms 3.000 one', 'rejected 4.000 one']);
});

test('rate=30r/m drains 500 milli-requests a second with integer division', () => {
  const z = zones(['m', 500]);
  const c = [{ zone: 'm', key: 'a', burst: 0, delay: 0 }];
  assert.deepEqual(run(z, c, [0, 1000, 1999, 2001]), ['passed', 'rejected 0.500 m', 'rejected 0.001 m', 'passed']);
});

test('keys are separate buckets; an empty key is not limited', () => {
  const z = zones(['one', 1000]);
  const check = (key: string) => [{ zone: 'one', key, burst: 0, delay: 0 }];
  assert.equal(short(takeRequest(z, check('a'), T0)), 'passed');
  assert.equal(short(takeRequest(z, check('b'), T0)), 'passed');
  assert.equal(short(takeRequest(z, check('a'), T0)), 'rejected 1.000 one');
  assert.equal(short(takeRequest(z, check(''), T0)), 'declined');
  assert.equal(short(takeRequest(z, check(''), T0)), 'declined');
});

test('two limits: all are looked up before any is charged, the longest delay wins, a rejection charges none', () => {
  const z = zones(['a', 1000], ['b', 10_000]);
  const c: ReqCheck[] = [
    { zone: 'a', key: 'k', burst: 5000, delay: NODELAY },
    { zone: 'b', key: 'k', burst: 2000, delay: 0 },
  ];
  assert.deepEqual(run(z, c, [0, 0, 0, 0, 0, 300]), [
    'passed',
    'delayed 100ms 1.000 b',
    'delayed 200ms 2.000 b',
    'rejected 3.000 b',
    'rejected 3.000 b',
    'passed',
  ]);
  const onlyA = [c[0]];
  assert.equal(short(takeRequest(z, onlyA, T0 + 300)), 'passed', 'a holds 2.700 + 1 after the pass at 300ms: within burst');
});

test('the last limit with an empty key: the others are charged in the second pass', () => {
  const z = zones(['a', 1000], ['b', 1000]);
  const c: ReqCheck[] = [
    { zone: 'a', key: 'k', burst: 2000, delay: 0 },
    { zone: 'b', key: '', burst: 0, delay: 0 },
  ];
  assert.deepEqual(run(z, c, [0, 0, 0, 0]), ['passed', 'delayed 1000ms 1.000 a', 'delayed 2000ms 2.000 a', 'rejected 3.000 a']);
});

test('a full zone drops its least recently used state (191 states of 8-byte keys in 32k, as nginx 1.22)', () => {
  const z = zones(['z', 16, 32 * 1024]);
  const check = (i: number) => [{ zone: 'z', key: `key${String(i).padStart(5, '0')}`, burst: 0, delay: 0 }];
  for (let i = 0; i < 191; i++) assert.equal(takeRequest(z, check(i), T0).kind, 'passed');
  assert.equal(z.get('z')?.size, 191);
  assert.equal(takeRequest(z, check(0), T0 + 1).kind, 'rejected', 'still known: not evicted');
  assert.equal(takeRequest(z, check(191), T0 + 2).kind, 'passed');
  assert.equal(z.get('z')?.size, 191);
  assert.equal(takeRequest(z, check(1), T0 + 3).kind, 'passed', 'key 1 was the least recently used one: evicted');
  assert.equal(takeRequest(z, check(0), T0 + 4).kind, 'rejected', 'key 0 was used again: kept');
});

test('a new state first removes up to two idle, drained ones', () => {
  const z = zones(['z', 1000]);
  const check = (key: string) => [{ zone: 'z', key, burst: 0, delay: 0 }];
  for (const k of ['a', 'b', 'c', 'd']) takeRequest(z, check(k), T0);
  assert.equal(z.get('z')?.size, 4);
  takeRequest(z, check('e'), T0 + 59_999);
  assert.equal(z.get('z')?.size, 5, 'not idle for a minute yet');
  takeRequest(z, check('f'), T0 + 60_000);
  assert.equal(z.get('z')?.size, 4, 'a and b removed, f added');
});

test('excess is printed as nginx prints it', () => {
  assert.equal(formatExcess(0), '0.000');
  assert.equal(formatExcess(1500), '1.500');
  assert.equal(formatExcess(12_007), '12.007');
});
