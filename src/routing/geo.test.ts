// The geo lookup without a server: nginx's address parsers, the longest prefix over IPv4 and IPv6, default and
// delete, ranges (with nginx's splitting of overlapping ranges), X-Forwarded-For through listed proxies, and an
// address that is not one. The same answers against nginx are in test/integration/geo.test.ts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileGeo, geoLookup, type GeoTable } from './geo.ts';
import { inet4, inet6, parseCidr } from './nginx-address.ts';

function geo(block: string): GeoTable {
  const lines = block
    .split(';')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => ({
      args: l.split(/\s+/),
      fail: (d: string): never => {
        throw new Error(d);
      },
    }));
  return compileGeo(lines);
}

const look = (g: GeoTable, addr: string | undefined, xff: string[] = []) => geoLookup(g, addr, xff);

test('inet4 and inet6 read addresses as nginx does', () => {
  assert.equal(inet4('10.1.2.3'), 0x0a010203);
  assert.equal(inet4('1..2.3'), 0x01000203, 'an empty octet is 0');
  assert.equal(inet4('010.0.0.1'), 0x0a000001, 'leading zeros are decimal');
  for (const bad of ['1.2.3', '1.2.3.4.5', '256.0.0.1', '255.255.255.255', '1.2.3.4 ', '', 'a.b.c.d']) assert.equal(inet4(bad), undefined, bad);
  assert.deepEqual([...(inet6('::1') as Uint8Array)], [...new Array(15).fill(0), 1]);
  assert.deepEqual([...(inet6('::ffff:1.2.3.4') as Uint8Array)].slice(10), [0xff, 0xff, 1, 2, 3, 4]);
  assert.deepEqual([...(inet6('1::') as Uint8Array)].slice(0, 3), [0, 1, 0]);
  assert.deepEqual([...(inet6('2001:DB8::A') as Uint8Array)], [0x20, 1, 0x0d, 0xb8, ...new Array(11).fill(0), 0x0a]);
  for (const bad of [':::1', '1::2::3', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7::', ':1', '1:', '12345::', '[::1]', '::1.2.3', '::g']) assert.equal(inet6(bad), undefined, bad);
});

test('parseCidr: masks, bare addresses, 255.255.255.255', () => {
  assert.deepEqual(parseCidr('10.1.2.3/8'), { addr: 0x0a000000, bits: 8 });
  assert.deepEqual(parseCidr('10.1.2.3'), { addr: 0x0a010203, bits: 32 });
  assert.deepEqual(parseCidr('255.255.255.255'), { addr: 0xffffffff, bits: 32 });
  assert.equal(parseCidr('255.255.255.255/32'), undefined);
  assert.equal(parseCidr('10.0.0.0/33'), undefined);
  assert.equal(parseCidr('10.0.0.0/'), undefined);
  assert.equal(parseCidr('::1/129'), undefined);
  assert.equal(parseCidr('::1/128')?.bits, 128);
});

test('networks: the longest prefix wins, IPv4 and IPv6, default for the rest', () => {
  const g = geo('default d; 127.0.0.0/8 loop; 127.0.0.1 one; 10.0.0.0/8 ten; 10.1.0.0/16 ten-one; ::1 six; 2001:db8::/32 doc');
  assert.equal(look(g, '127.0.0.1'), 'one');
  assert.equal(look(g, '127.0.0.2'), 'loop');
  assert.equal(look(g, '10.1.200.3'), 'ten-one');
  assert.equal(look(g, '10.2.0.1'), 'ten');
  assert.equal(look(g, '192.0.2.1'), 'd');
  assert.equal(look(g, '::1'), 'six');
  assert.equal(look(g, '2001:db8:ffff::1'), 'doc');
  assert.equal(look(g, '2001:db9::1'), 'd');
  assert.equal(look(g, '::ffff:10.1.0.9'), 'ten-one', 'an IPv4-mapped address is looked up as IPv4');
});

test('without default the value is empty; default sets IPv4 and IPv6; the last of duplicates wins', () => {
  assert.equal(look(geo('10.0.0.0/8 ten'), '11.0.0.1'), '');
  assert.equal(look(geo('10.0.0.0/8 ten'), '::2'), '');
  const g = geo('default a; default b; 10.0.0.0/8 x; 10.0.0.0/8 y; 0.0.0.0/0 four');
  assert.equal(look(g, '1.1.1.1'), 'four');
  assert.equal(look(g, '::2'), 'b');
  assert.equal(look(g, '10.9.9.9'), 'y');
});

test('delete removes one network, exactly as written', () => {
  const g = geo('default d; 10.0.0.0/8 ten; 10.1.0.0/16 sub; delete 10.1.0.0/16; delete 10.2.0.0/16; delete ::1');
  assert.equal(look(g, '10.1.0.1'), 'ten');
  assert.equal(look(geo('default d; delete 0.0.0.0/0'), '1.2.3.4'), '');
  assert.equal(look(geo('default d; delete 0.0.0.0/0'), '::1'), 'd');
});

test('an address that is not one is looked up as 255.255.255.255', () => {
  const g = geo('default d; 255.255.255.255 none; 10.0.0.0/8 ten');
  for (const a of [undefined, '', 'x', '10.0.0', '[::1]', '10.0.0.1:80', '255.255.255.255']) assert.equal(look(g, a), 'none', String(a));
  assert.equal(look(g, '10.0.0.1'), 'ten');
  assert.equal(look(g, '010.0.0.1'), 'ten');
});

test('ranges: inclusive, IPv4 only, default, nginx splitting of a range inside another', () => {
  const g = geo('ranges; default d; 10.0.0.0-10.0.0.255 a; 10.0.0.10-10.0.0.20 b; 10.0.0.10-10.0.0.12 c; 10.0.0.18-10.0.0.20 e; 10.0.1.0-10.3.0.5 wide');
  const want: [string, string][] = [
    ['10.0.0.0', 'a'], ['10.0.0.9', 'a'], ['10.0.0.10', 'c'], ['10.0.0.12', 'c'], ['10.0.0.13', 'b'], ['10.0.0.17', 'b'],
    ['10.0.0.18', 'e'], ['10.0.0.20', 'e'], ['10.0.0.21', 'a'], ['10.0.0.255', 'a'], ['10.0.1.0', 'wide'], ['10.2.255.255', 'wide'],
    ['10.3.0.5', 'wide'], ['10.3.0.6', 'd'], ['::1', 'd'], ['::ffff:10.0.0.11', 'c'],
  ];
  for (const [a, v] of want) assert.equal(look(g, a), v, a);
  assert.equal(look(g, 'nope'), 'd');
  assert.equal(look(geo('ranges; 10.0.0.0-10.0.0.9 a'), '10.0.0.10'), '');
});

test('ranges: delete takes out a whole piece; pieces are cut at /16 boundaries', () => {
  const g = geo('ranges; default d; 10.0.0.0-10.1.255.255 a; delete 10.0.0.0-10.0.255.255; 10.1.0.0-10.1.255.255 b');
  assert.equal(look(g, '10.0.5.5'), 'd');
  assert.equal(look(g, '10.1.5.5'), 'b');
});

test('ranges: the errors nginx gives', () => {
  assert.throws(() => geo('ranges; 10.0.0.1-10.0.0.9 a; 10.0.0.5-10.0.0.20 b'), { message: 'range "10.0.0.5-10.0.0.20" overlaps "10.0.0.1-10.0.0.9"' });
  assert.throws(() => geo('ranges; 10.0.0.2-10.0.0.3 a; 10.0.0.0-10.0.0.9 b'), { message: 'range "10.0.0.0-10.0.0.9" overlaps "10.0.0.2-10.0.0.3"' });
  assert.throws(() => geo('ranges; 10.0.0.9-10.0.0.1 a'), { message: 'invalid range "10.0.0.9-10.0.0.1"' });
  assert.throws(() => geo('ranges; 10.0.0.0/8 a'), { message: 'invalid range "10.0.0.0/8"' });
  assert.throws(() => geo('10.0.0.0/8 a; ranges'), { message: 'the "ranges" directive must be the first directive inside "geo" block' });
  assert.throws(() => geo('default a; ranges'), { message: 'the "ranges" directive must be the first directive inside "geo" block' });
  assert.doesNotThrow(() => geo('proxy 10.0.0.1; proxy_recursive; ranges; ranges'));
  assert.throws(() => geo('volatile'), { message: 'invalid number of the geo parameters' });
  assert.throws(() => geo('Default a'), { message: 'invalid network "Default"' });
});

test('proxy: the address comes from X-Forwarded-For when the client is a listed proxy', () => {
  const g = geo('default d; proxy 127.0.0.0/8; proxy ::1; 10.0.0.0/8 ten; 192.168.0.0/16 lan; 127.0.0.1 local');
  assert.equal(look(g, '127.0.0.1', ['10.0.0.1']), 'ten');
  assert.equal(look(g, '::1', ['192.168.1.1']), 'lan');
  assert.equal(look(g, '127.0.0.1', ['192.168.1.1, 10.0.0.1']), 'ten', 'the rightmost address');
  assert.equal(look(g, '127.0.0.1', ['10.0.0.1:8080']), 'ten', 'a port is allowed');
  assert.equal(look(g, '127.0.0.1', ['[::ffff:10.0.0.1]:80']), 'ten');
  assert.equal(look(g, '127.0.0.1', ['garbage']), 'local', 'an unreadable address keeps the client');
  assert.equal(look(g, '127.0.0.1', ['10.0.0.1', '192.168.0.1']), 'lan', 'the last header');
  assert.equal(look(g, '8.8.8.8', ['10.0.0.1']), 'd', 'not from a proxy');
  assert.equal(look(g, 'x', ['10.0.0.1']), 'd', 'no address, no X-Forwarded-For');
  assert.equal(look(geo('default d; 10.0.0.0/8 ten'), '127.0.0.1', ['10.0.0.1']), 'd', 'no proxy lines');
});

test('proxy_recursive walks X-Forwarded-For left past listed proxies', () => {
  const plain = geo('default d; proxy 127.0.0.0/8; proxy 10.0.0.0/8; 10.0.0.0/8 ten; 192.168.0.0/16 lan');
  const rec = geo('default d; proxy 127.0.0.0/8; proxy 10.0.0.0/8; proxy_recursive; 10.0.0.0/8 ten; 192.168.0.0/16 lan');
  assert.equal(look(plain, '127.0.0.1', ['192.168.0.1, 10.0.0.1']), 'ten');
  assert.equal(look(rec, '127.0.0.1', ['192.168.0.1, 10.0.0.1']), 'lan');
  assert.equal(look(rec, '127.0.0.1', ['10.0.0.2,10.0.0.1']), 'ten', 'all proxies: the leftmost');
  assert.equal(look(rec, '127.0.0.1', ['bad, 10.0.0.1']), 'ten', 'stops at an unreadable address');
  assert.equal(look(rec, '127.0.0.1', ['192.168.0.1', '10.0.0.1']), 'lan', 'across headers');
});
