// Integration: issuance from Pebble on loopback with http-01 and tls-alpn-01 (one and several names, ECDSA and RSA
// keys), chains checked against Pebble's root, and real node:tls / node:http2 clients reaching the issued
// certificate through the ALPN front and the SNI table in front of an http2 secure server. Also badNonce storms.
// Not the lifecycle (renewal, outages, restarts): see acme-renewal.test.ts.

import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import http2 from 'node:http2';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import acme from 'acme-client';
import { Http01Tokens } from '../../src/tls/acme/http01.ts';
import { AcmeIssuer } from '../../src/tls/acme/issuer.ts';
import type { AcmeError } from '../../src/tls/acme/problem.ts';
import { TlsAlpnChallenges } from '../../src/tls/acme/tls-alpn01.ts';
import { FileStorage } from '../../src/tls/file-storage.ts';
import { CertificateManager } from '../../src/tls/manager.ts';
import { defaultTlsPolicy, serverOptions, tlsPolicyFromNginx } from '../../src/tls/tls-defaults.ts';
import { captureLogger, h2Get, listenerCertificates, opensslVerify, startChallengeResponders, startPebble, tlsHandshake } from '../helpers/pebble.ts';
import type { ChallengeResponders, Pebble } from '../helpers/pebble.ts';

interface Site {
  pebble: Pebble;
  manager: CertificateManager;
  responders: ChallengeResponders;
  h2: http2.Http2SecureServer;
  stateDir: string;
  log: ReturnType<typeof captureLogger>;
  close(): Promise<void>;
}

async function startSite(nonceReject = 0): Promise<Site> {
  const pebble = await startPebble({ nonceReject });
  const stateDir = await mkdtemp(path.join(os.tmpdir(), 'portico-acme-'));
  const log = captureLogger();
  const common = { directoryUrl: pebble.directoryUrl, trustedCaPem: pebble.listenerCaPem, acceptTermsOfService: true, pollMinMs: 20, pollMaxMs: 300 };
  const manager = new CertificateManager({
    stateDir,
    logger: log,
    issuers: [
      { ...common, name: 'http', challenge: 'http-01', contact: ['ops@test.example'] },
      { ...common, name: 'alpn', challenge: 'tls-alpn-01' },
    ],
    retry: { initialMs: 200, maxMs: 2000, jitter: 0 },
  });
  const policy = defaultTlsPolicy();
  const h2 = http2.createSecureServer({ ...serverOptions(policy), allowHTTP1: true, SNICallback: manager.sni.callback }, (req, res) => {
    res.end(`hello ${req.headers[':authority'] ?? req.headers.host ?? ''} over ${req.httpVersion}`);
  });
  h2.on('tlsClientError', () => undefined);
  const responders = await startChallengeResponders(pebble, (p) => manager.httpChallengeForPath(p), (n) => manager.tlsAlpnChallengeContext(n), h2);
  await manager.start();
  return {
    pebble, manager, responders, h2, stateDir, log,
    close: async () => {
      await manager.stop();
      await responders.close();
      h2.close();
      await pebble.stop();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}

describe('ACME issuance (Pebble)', () => {
  let site: Site;
  let root: string;
  before(async () => {
    site = await startSite();
    root = await site.pebble.rootPem();
  });
  after(async () => { await site.close(); });

  const cases = [
    { issuer: 'http', names: ['one.test.example'], keyType: undefined },
    { issuer: 'http', names: ['a.multi.test.example', 'b.multi.test.example', 'c.multi.test.example'], keyType: 'rsa:2048' as const },
    { issuer: 'alpn', names: ['alpn.test.example'], keyType: undefined },
    { issuer: 'alpn', names: ['x.alpn.test.example', 'y.alpn.test.example'], keyType: 'ecdsa:384' as const },
  ];

  for (const c of cases) {
    it(`issues ${c.names.length} name(s) with ${c.issuer === 'http' ? 'http-01' : 'tls-alpn-01'} (${c.keyType ?? 'ecdsa:256'})`, async () => {
      const id = site.manager.add({ issuer: c.issuer, names: c.names, ...(c.keyType !== undefined ? { keyType: c.keyType } : {}) });
      const cert = await site.manager.waitForCertificate(id, { timeoutMs: 20_000 });
      assert.equal(cert.source, 'issued');
      const leaf = new X509Certificate(cert.chainPem);
      for (const n of c.names) assert.equal(leaf.checkHost(n, { subject: 'never' }), n);
      const kt = c.keyType ?? 'ecdsa:256';
      assert.equal(leaf.publicKey.asymmetricKeyType, kt.startsWith('rsa') ? 'rsa' : 'ec');
      if (kt === 'ecdsa:384') assert.equal(leaf.publicKey.asymmetricKeyDetails?.namedCurve, 'secp384r1');
      assert.equal(await opensslVerify(cert.chainPem, root), 'leaf.pem: OK');
      if (c.issuer === 'http') assert.ok((site.responders.httpHits.get(200) ?? 0) >= 3, 'Pebble fetched the token');
      else assert.ok(site.responders.front.stats.challenge >= c.names.length, 'Pebble connected with acme-tls/1');

      for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
        for (const n of c.names) {
          const r = await tlsHandshake(site.pebble.tlsPort, n, root, version);
          assert.equal(r.authorized, true);
          assert.equal(r.version, version);
          assert.equal(r.fingerprint, cert.fingerprint256);
          assert.equal(r.alpn, 'h2');
        }
      }
      const first = c.names[0] ?? '';
      const res = await h2Get(site.pebble.tlsPort, first, root);
      assert.equal(res.status, 200);
      assert.equal(res.body, `hello ${first}:${site.pebble.tlsPort} over 2.0`);
    });
  }

  it('shares one certificate between servers with the same names, and orders once for concurrent triggers', async () => {
    const id = site.manager.add({ issuer: 'http', names: ['Shared.test.example', 'www.shared.test.example'] });
    assert.equal(site.manager.add({ issuer: 'http', names: ['www.shared.test.example', 'shared.test.example.'] }), id);
    const issuer = site.manager.issuers.get('http');
    assert.ok(issuer);
    const first = await site.manager.waitForCertificate(id, { timeoutMs: 20_000 });
    await site.manager.settled();
    const orders = issuer.stats.orders;
    await Promise.all([site.manager.renew(id), site.manager.renew(id), site.manager.renew(id), site.manager.check()]);
    assert.equal(issuer.stats.orders, orders + 1);
    const now = await site.manager.waitForCertificate(id, { timeoutMs: 1 });
    assert.notEqual(now.fingerprint256, first.fingerprint256);
    assert.equal(issuer.stats.accountsCreated, 1, 'one account for the issuer, created once');
  });

  it('applies CA trust per issuer (ssl_trusted_certificate, ssl_verify off) without touching the shared axios', async () => {
    const storage = new FileStorage({ root: path.join(site.stateDir, 'trust') });
    const deps = { storage, http01: new Http01Tokens(storage), tlsAlpn01: new TlsAlpnChallenges(), logger: captureLogger() };
    const base = { directoryUrl: site.pebble.directoryUrl, acceptTermsOfService: true };
    const trusted = new AcmeIssuer({ ...base, name: 'trusted', trustedCaPem: site.pebble.listenerCaPem }, deps);
    const systemStore = new AcmeIssuer({ ...base, name: 'system' }, deps);
    const noVerify = new AcmeIssuer({ ...base, name: 'noverify', verify: false }, deps);
    const otherCa = new AcmeIssuer({ ...base, name: 'other', trustedCaPem: listenerCertificates().caPem }, deps);
    const [a, b, c, d] = await Promise.allSettled([trusted.account(), systemStore.account(), noVerify.account(), otherCa.account()]);
    assert.equal(a.status, 'fulfilled');
    assert.equal(c.status, 'fulfilled');
    for (const r of [b, d]) {
      assert.equal(r.status, 'rejected');
      const e = (r as PromiseRejectedResult).reason as AcmeError;
      assert.equal(e.code, 'TLS_ACME_UNREACHABLE');
      assert.match(e.message, /certificate/i);
    }
    assert.equal(acme.axios.defaults.httpsAgent, undefined);
    for (const i of [trusted, systemStore, noVerify, otherCa]) i.close();
  });

  it('hands out the current certificate as PEM and as contexts built with a server policy', async () => {
    const id = site.manager.add({ issuer: 'http', names: ['policy.test.example'] });
    const issued = await site.manager.waitForCertificate(id, { timeoutMs: 20_000 });
    const now = site.manager.current(id);
    assert.equal(now?.source, 'issued');
    assert.equal(now?.fingerprint256, issued.fingerprint256);
    const { policy } = tlsPolicyFromNginx({ protocols: ['TLSv1.3'] });
    const ctx = site.manager.secureContext(id, policy);
    assert.ok(ctx !== undefined && ctx !== issued.context);
    assert.equal(site.manager.secureContext(id, policy), ctx, 'cached per policy and certificate');
    assert.equal(site.manager.secureContext(id), issued.context);
  });

  it('removes a certificate from the SNI table when it is no longer configured', async () => {
    const id = site.manager.add({ issuer: 'http', names: ['gone.test.example'] });
    await site.manager.waitForCertificate(id, { timeoutMs: 20_000 });
    assert.ok(site.manager.sni.match('gone.test.example'));
    site.manager.remove(id);
    assert.equal(site.manager.sni.match('gone.test.example'), undefined);
    assert.equal(site.manager.status().some((s) => s.id === id), false);
  });

  it('refuses names ACME cannot validate here', () => {
    assert.throws(() => site.manager.add({ issuer: 'http', names: ['*.wild.test.example'] }), /dns-01/);
    assert.throws(() => site.manager.add({ issuer: 'nope', names: ['a.test.example'] }), /unknown acme_issuer/);
  });
});

describe('ACME issuance with PEBBLE_WFE_NONCEREJECT=50', () => {
  let site: Site;
  before(async () => { site = await startSite(50); });
  after(async () => { await site.close(); });

  it('still issues (badNonce retried per request)', async () => {
    let badNonces = 0;
    acme.setLogger((msg) => { if (msg.startsWith('Caught invalid nonce error')) badNonces++; });
    const ids = [
      site.manager.add({ issuer: 'http', names: ['n1.test.example'] }),
      site.manager.add({ issuer: 'alpn', names: ['n2.test.example', 'n3.test.example'] }),
      site.manager.add({ issuer: 'http', names: ['n4.test.example', 'n5.test.example'] }),
    ];
    const root = await site.pebble.rootPem();
    for (const id of ids) {
      const cert = await site.manager.waitForCertificate(id, { timeoutMs: 20_000 });
      assert.equal(await opensslVerify(cert.chainPem, root), 'leaf.pem: OK');
    }
    assert.deepEqual(site.log.entries.filter((e) => e.level === 'error'), []);
    assert.ok(badNonces >= 5, `Pebble rejected nonces (${badNonces} retries seen)`);
    acme.setLogger(() => undefined);
  });
});
