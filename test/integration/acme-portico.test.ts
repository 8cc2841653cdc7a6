// End to end through bin/portico: a site config with nginx's ACME directives (acme_issuer, acme_certificate,
// ssl_certificate $acme_certificate) obtains a certificate from Pebble over http-01 (answered before routing on
// the plain listener) and over tls-alpn-01 (answered in the handshake on the TLS listener), then HTTPS and HTTP/2
// clients trusting Pebble's root get the issued certificate; a restart reuses it without a new order.

import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { connect } from 'node:tls';
import { h2Get, startPebble, type Pebble } from '../helpers/pebble.ts';
import { launchPortico, mainContext, startPortico, type Portico } from './support/portico.ts';

function peerCertificate(port: number, servername: string, ca: string): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, servername, ca, ALPNProtocols: ['http/1.1'] }, () => {
      const raw = s.getPeerX509Certificate();
      s.end();
      if (!raw) reject(new Error('no peer certificate'));
      else resolve(raw);
    });
    s.on('error', reject);
  });
}

async function waitIssued(port: number, name: string, root: () => Promise<string>, timeoutMs = 30_000): Promise<X509Certificate> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      return await peerCertificate(port, name, await root());
    } catch (e) {
      last = e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(`no certificate issued for ${name} within ${timeoutMs} ms: ${String(last)}`);
}

function siteConfig(p: Pebble, challenge: 'http-01' | 'tls-alpn-01', plainPort: number, tlsPort: number): string {
  return `${mainContext()}
http {
  acme_issuer pebble {
    uri ${p.directoryUrl};
    contact ops@test.example;
    accept_terms_of_service;
    challenge ${challenge};
    ssl_trusted_certificate pebble-ca.pem;
    state_path acme-state;
  }
  server {
    listen 127.0.0.1:${plainPort};
    server_name site.test.example;
    location / { return 301 https://$host$request_uri; }
  }
  server {
    listen 127.0.0.1:${tlsPort} ssl;
    http2 on;
    server_name site.test.example www.site.test.example;
    acme_certificate pebble;
    ssl_certificate $acme_certificate;
    ssl_certificate_key $acme_certificate_key;
    location / { return 200 "secure $host\\n"; }
  }
}
`;
}

for (const challenge of ['http-01', 'tls-alpn-01'] as const) {
  describe(`ACME ${challenge} through bin/portico`, () => {
    let pebble: Pebble;
    let portico: Portico;

    before(async () => {
      pebble = await startPebble();
      const port = challenge === 'http-01' ? pebble.httpPort : pebble.tlsPort;
      portico = await startPortico({
        ports: 1,
        config: (c) => (challenge === 'http-01' ? siteConfig(pebble, challenge, port, c.ports[0]) : siteConfig(pebble, challenge, c.ports[0], port)),
        files: { 'conf/pebble-ca.pem': pebble.listenerCaPem },
      });
    });

    after(async () => {
      await portico?.dispose();
      await pebble?.stop();
    });

    it('serves the certificate Pebble issued for both names, over HTTPS and HTTP/2', async () => {
      const tlsPort = challenge === 'http-01' ? portico.port : pebble.tlsPort;
      const cert = await waitIssued(tlsPort, 'site.test.example', () => pebble.rootPem());
      assert.match(cert.subjectAltName ?? '', /DNS:site\.test\.example/);
      assert.match(cert.subjectAltName ?? '', /DNS:www\.site\.test\.example/);
      const root = await pebble.rootPem();
      const www = await peerCertificate(tlsPort, 'www.site.test.example', root);
      assert.equal(www.fingerprint256, cert.fingerprint256);
      const h2 = await h2Get(tlsPort, 'site.test.example', root);
      assert.equal(h2.status, 200);
      assert.equal(h2.body, 'secure site.test.example\n');
      assert.match(portico.errorLog(), /acme: /);
    });

    it('a restart reuses the stored certificate instead of ordering again', async () => {
      const tlsPort = challenge === 'http-01' ? portico.port : pebble.tlsPort;
      const before = await waitIssued(tlsPort, 'site.test.example', () => pebble.rootPem());
      await portico.stop('SIGTERM');
      const ordersBefore = (portico.errorLog().match(/obtaining certificate/g) ?? []).length;
      portico = await launchPortico({ prefix: portico.prefix, ports: portico.ports });
      const again = await peerCertificate(tlsPort, 'site.test.example', await pebble.rootPem());
      assert.equal(again.fingerprint256, before.fingerprint256);
      assert.match(portico.errorLog(), /loaded stored certificate/);
      assert.equal((portico.errorLog().match(/obtaining certificate/g) ?? []).length, ordersBefore, 'no new order after the restart');
    });
  });
}
