// Unit tests for self-signed placeholder certificates: names, validity, key match, caching. No TLS traffic.

import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { describe, it } from 'node:test';
import tls from 'node:tls';
import { selfSignedCertificate } from './self-signed.ts';

describe('selfSignedCertificate', () => {
  it('is valid now for every requested name, including IP addresses, with a matching RSA key', () => {
    const ss = selfSignedCertificate(['b.test', 'A.test', '127.0.0.1', 'a.test']);
    const x = new X509Certificate(ss.certPem);
    assert.deepEqual(ss.names, ['127.0.0.1', 'a.test', 'b.test']);
    for (const n of ['a.test', 'b.test']) assert.equal(x.checkHost(n), n);
    assert.equal(x.checkIP('127.0.0.1'), '127.0.0.1');
    assert.equal(x.checkHost('c.test'), undefined);
    assert.ok(x.validFromDate.getTime() <= Date.now() && x.validToDate.getTime() > Date.now());
    assert.ok(x.checkPrivateKey(createPrivateKey(ss.keyPem)));
    assert.equal(x.publicKey.asymmetricKeyType, 'rsa');
    assert.equal(x.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
    assert.ok(x.verify(x.publicKey), 'self-signed');
    assert.equal(tls.checkServerIdentity('b.test', { subjectaltname: x.subjectAltName ?? '', subject: {} } as unknown as tls.PeerCertificate), undefined);
  });

  it('caches per name set regardless of order and case, and renews near expiry', () => {
    const a = selfSignedCertificate(['x.test', 'y.test']);
    const b = selfSignedCertificate(['Y.TEST', 'x.test']);
    assert.equal(a, b);
    assert.notEqual(selfSignedCertificate(['x.test']), a);
    const later = selfSignedCertificate(['x.test', 'y.test'], { now: () => a.notAfter - 3_600_000 });
    assert.notEqual(later, a);
    assert.ok(later.notAfter > a.notAfter);
  });

  it('supports wildcard names', () => {
    const x = new X509Certificate(selfSignedCertificate(['*.wild.test']).certPem);
    assert.equal(x.checkHost('a.wild.test'), '*.wild.test');
  });
});
