// Tests for the ALPN front on loopback: tls-alpn-01 routing for TLS 1.2 and 1.3, ClientHellos trickled one byte at
// a time, normal h2/HTTP/1.1 traffic to the main server, garbage, silent and vanishing clients. No ACME server.

import assert from 'node:assert/strict';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import acme from 'acme-client';
import { TlsAlpnChallenges } from './acme/tls-alpn01.ts';
import { createAlpnFrontServer } from './alpn-front.ts';
import type { AlpnFront } from './alpn-front.ts';
import { selfSignedCertificate } from './self-signed.ts';
import { SniTable } from './sni-table.ts';
import { serverOptions, defaultTlsPolicy } from './tls-defaults.ts';

const KEY_AUTH = 'token123.thumbprint456';

describe('alpn front', () => {
  let front: AlpnFront;
  let frontServer: net.Server;
  let h2: http2.Http2SecureServer;
  let port: number;
  let trickle: net.Server;
  let tricklePort: number;
  const site = selfSignedCertificate(['site.test']);

  before(async () => {
    const challenges = new TlsAlpnChallenges();
    await challenges.publish({ identifier: { type: 'dns', value: 'ch.test' } } as acme.Authorization, KEY_AUTH);
    const sni = new SniTable();
    sni.set('site.test', tls.createSecureContext({ cert: site.certPem, key: site.keyPem }));
    h2 = http2.createSecureServer({
      ...serverOptions(defaultTlsPolicy()), allowHTTP1: true, cert: site.certPem, key: site.keyPem, SNICallback: sni.callback,
    }, (req, res) => { res.end(`main ${req.httpVersion}`); });
    h2.on('tlsClientError', () => undefined);
    ({ server: frontServer, front } = createAlpnFrontServer({
      main: h2, challengeContext: (n) => challenges.context(n), helloTimeoutMs: 5_000,
    }));
    await new Promise<void>((r) => frontServer.listen(0, '127.0.0.1', r));
    port = (frontServer.address() as AddressInfo).port;
    trickle = net.createServer((down) => {
      const up = net.connect(port, '127.0.0.1');
      let queue = Promise.resolve();
      down.on('data', (chunk: Buffer) => {
        for (const byte of chunk) {
          queue = queue.then(() => new Promise<void>((r) => { up.write(Buffer.from([byte])); setImmediate(r); }));
        }
      });
      up.pipe(down);
      down.on('error', () => up.destroy());
      up.on('error', () => down.destroy());
      down.on('close', () => up.destroy());
    });
    await new Promise<void>((r) => trickle.listen(0, '127.0.0.1', r));
    tricklePort = (trickle.address() as AddressInfo).port;
  });

  after(() => {
    trickle.close();
    frontServer.close();
    h2.close();
  });

  const acmeHandshake = (p: number, maxVersion: tls.SecureVersion, servername = 'ch.test'): Promise<{ alpn: string | false | null; cert: tls.PeerCertificate; version: string | null }> =>
    new Promise((resolve, reject) => {
      const s = tls.connect({ port: p, host: '127.0.0.1', servername, ALPNProtocols: ['acme-tls/1'], rejectUnauthorized: false, maxVersion }, () => {
        resolve({ alpn: s.alpnProtocol, cert: s.getPeerCertificate(), version: s.getProtocol() });
        s.destroy();
      });
      s.on('error', reject);
    });

  for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
    it(`answers tls-alpn-01 over ${version} with the challenge certificate`, async () => {
      const before = front.stats.challenge;
      const r = await acmeHandshake(port, version);
      assert.equal(r.version, version);
      assert.equal(r.alpn, 'acme-tls/1');
      assert.equal(r.cert.subjectaltname, 'DNS:ch.test');
      assert.ok(acme.crypto.isAlpnCertificateAuthorizationValid(`-----BEGIN CERTIFICATE-----\n${r.cert.raw.toString('base64')}\n-----END CERTIFICATE-----\n`, KEY_AUTH));
      assert.equal(front.stats.challenge, before + 1);
    });

    it(`routes a ClientHello trickled one byte at a time (${version})`, async () => {
      const r = await acmeHandshake(tricklePort, version);
      assert.equal(r.alpn, 'acme-tls/1');
      assert.equal(r.cert.subjectaltname, 'DNS:ch.test');
    });
  }

  it('sends acme-tls/1 for a name without a pending challenge to the main server', async () => {
    const before = front.stats.main;
    await acmeHandshake(port, 'TLSv1.3', 'site.test').catch(() => undefined);
    assert.equal(front.stats.main, before + 1);
  });

  it('passes h2 and HTTP/1.1 clients to the main server with SNI intact', async () => {
    const client = http2.connect(`https://127.0.0.1:${port}`, { servername: 'site.test', ca: site.certPem, checkServerIdentity: () => undefined });
    const body = await new Promise<string>((resolve, reject) => {
      const req = client.request({ ':path': '/' });
      let data = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => { data += c; });
      req.on('end', () => resolve(data));
      req.on('error', reject);
    });
    client.close();
    assert.equal(body, 'main 2.0');
    const body1 = await new Promise<string>((resolve, reject) => {
      https.get({ host: '127.0.0.1', port, servername: 'site.test', ca: site.certPem, checkServerIdentity: () => undefined, path: '/' }, (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => { data += c; });
        res.on('end', () => resolve(data));
      }).on('error', reject);
    });
    assert.equal(body1, 'main 1.1');
  });

  it('hands garbage and silent clients to the main server, drops clients that vanish', async () => {
    const main0 = front.stats.main;
    const garbage = net.connect(port, '127.0.0.1');
    garbage.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise<void>((r) => { garbage.on('close', () => r()); garbage.on('error', () => undefined); garbage.resume(); });
    assert.equal(front.stats.main, main0 + 1);
    const quick = createAlpnFrontServer({ main: h2, challengeContext: () => undefined, helloTimeoutMs: 100 });
    await new Promise<void>((r) => quick.server.listen(0, '127.0.0.1', r));
    const silent = net.connect((quick.server.address() as AddressInfo).port, '127.0.0.1');
    silent.on('error', () => undefined);
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(quick.front.stats.main, 1);
    silent.destroy();
    quick.server.close();
    const dropped0 = front.stats.dropped;
    const partial = net.connect(port, '127.0.0.1', () => { partial.end(Buffer.from([0x16, 0x03, 0x01, 0x02])); });
    partial.on('error', () => undefined);
    await new Promise<void>((r) => partial.on('close', () => r()));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(front.stats.dropped, dropped0 + 1);
  });
});
