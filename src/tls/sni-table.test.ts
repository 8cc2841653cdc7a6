// Unit tests for SniTable: exact, wildcard and default lookups, hot replacement, and use as a real SNICallback.
// Not about which certificate the manager publishes (integration tests cover that).

import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { describe, it } from 'node:test';
import { selfSignedCertificate } from './self-signed.ts';
import { SniTable } from './sni-table.ts';

function ctx(name: string): tls.SecureContext {
  const ss = selfSignedCertificate([name]);
  return tls.createSecureContext({ cert: ss.certPem, key: ss.keyPem });
}

describe('SniTable', () => {
  const exact = ctx('www.example.com');
  const wild = ctx('*.example.com');
  const deeper = ctx('*.api.example.com');
  const fallback = ctx('default.test');

  it('matches exact names before wildcards, longest wildcard first, case-insensitively', () => {
    const t = new SniTable();
    t.set('www.example.com', exact);
    t.set('*.example.com', wild);
    t.set('*.API.example.com', deeper);
    assert.equal(t.lookup('www.example.com'), exact);
    assert.equal(t.lookup('WWW.Example.COM.'), exact);
    assert.equal(t.lookup('shop.example.com'), wild);
    assert.equal(t.lookup('a.b.example.com'), wild, 'nginx-style wildcard spans labels');
    assert.equal(t.lookup('v1.api.example.com'), deeper);
    assert.equal(t.lookup('example.com'), undefined, 'wildcard does not match the bare domain');
    assert.equal(t.lookup('badexample.com'), undefined);
    assert.equal(t.lookup('.example.com'), undefined);
    assert.deepEqual(t.names(), ['*.api.example.com', '*.example.com', 'www.example.com']);
  });

  it('falls back to the default, also without SNI', () => {
    const t = new SniTable();
    assert.equal(t.lookup('x.test'), undefined);
    t.setDefault(fallback);
    assert.equal(t.lookup('x.test'), fallback);
    assert.equal(t.lookup(undefined), fallback);
    assert.equal(t.match('x.test'), undefined);
  });

  it('replaces and deletes entries', () => {
    const t = new SniTable();
    t.set('*.example.com', wild);
    t.set('*.example.com', exact);
    assert.equal(t.lookup('a.example.com'), exact);
    t.delete('*.example.com');
    assert.equal(t.lookup('a.example.com'), undefined);
  });

  it('hot-swaps a certificate for new handshakes while open connections keep theirs', async () => {
    const t = new SniTable();
    const first = selfSignedCertificate(['swap.test']);
    const second = selfSignedCertificate(['swap.test', 'other.test']);
    t.set('swap.test', tls.createSecureContext({ cert: first.certPem, key: first.keyPem }));
    const server = tls.createServer({ SNICallback: t.callback, ...{ cert: first.certPem, key: first.keyPem } }, (s) => s.on('data', (d) => s.write(d)));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const connect = (): Promise<tls.TLSSocket> => new Promise((resolve, reject) => {
      const s = tls.connect({ port, host: '127.0.0.1', servername: 'swap.test', rejectUnauthorized: false }, () => resolve(s));
      s.on('error', reject);
    });
    const a = await connect();
    const fpA = a.getPeerX509Certificate()?.fingerprint256;
    t.set('swap.test', tls.createSecureContext({ cert: second.certPem, key: second.keyPem }));
    const b = await connect();
    const fpB = b.getPeerX509Certificate()?.fingerprint256;
    assert.notEqual(fpA, fpB);
    const echoed = await new Promise<string>((resolve) => { a.once('data', (d: Buffer) => resolve(d.toString())); a.write('still here'); });
    assert.equal(echoed, 'still here');
    a.destroy();
    b.destroy();
    server.close();
  });
});
