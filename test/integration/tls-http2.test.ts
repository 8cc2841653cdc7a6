// Integration: TLS listeners of a running bin/portico with self-signed certificates made by openssl: HTTPS with
// curl (--http1.1, --http2) and node:https / node:http2 clients, SNI choosing between two servers' certificates on
// one port, the default server's certificate for unknown names, ssl_reject_handshake, HTTP/2 and HTTP/1.1 on one
// port by ALPN, and protocol versions (TLS 1.0/1.1 refused by default, 1.2 and 1.3 accepted; a server that enables
// TLS 1.1 proves the clients could have used it).
// Not certificate issuance (acme-*.test.ts) and not HTTP semantics (http1.test.ts).

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import https from 'node:https';
import http2 from 'node:http2';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { requireCommand } from '../helpers/debian.ts';
import { testCert, type TestCert } from './support/certs.ts';
import { waitFor } from './support/process.ts';
import { mainContext, startPortico, type Portico } from './support/portico.ts';

const T = { timeout: 15_000 };

interface Curl {
  code: number;
  body: string;
  httpVersion: string;
}

function curl(args: string[]): Promise<Curl> {
  const bin = requireCommand('curl', 'curl');
  return new Promise((resolve) => {
    execFile(bin, ['-s', '--max-time', '5', '-w', '\n%{http_version}', ...args], { timeout: 10_000 }, (err, stdout) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      const cut = stdout.lastIndexOf('\n');
      resolve({ code, body: stdout.slice(0, cut), httpVersion: stdout.slice(cut + 1) });
    });
  });
}

interface Handshake {
  cn: string | undefined;
  san: string | undefined;
  alpn: string | false | null;
  protocol: string | null;
}

function handshake(port: number, opts: tls.ConnectionOptions): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...opts }, () => {
      const peer = s.getPeerX509Certificate();
      resolve({ cn: /CN=([^\n]+)/.exec(peer?.subject ?? '')?.[1], san: peer?.subjectAltName, alpn: s.alpnProtocol, protocol: s.getProtocol() });
      s.end();
    });
    s.setTimeout(5000, () => s.destroy(new Error('TLS handshake timeout')));
    s.on('error', reject);
  });
}

function httpsGet(port: number, servername: string, ca: string): Promise<{ status: number; body: string; cn: string | undefined; version: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port, path: '/', servername, ca, headers: { host: servername }, agent: false, timeout: 5000 }, (res) => {
      let body = '';
      const cert = (res.socket as tls.TLSSocket).getPeerX509Certificate();
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, cn: /CN=([^\n]+)/.exec(cert?.subject ?? '')?.[1], version: res.httpVersion }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

function h2Get(port: number, servername: string, ca: string): Promise<{ status: number; body: string; alpn: string | undefined }> {
  return new Promise((resolve, reject) => {
    const client = http2.connect(`https://127.0.0.1:${port}`, { ca, servername });
    client.on('error', reject);
    client.setTimeout(5000, () => client.destroy(new Error('h2 timeout')));
    const req = client.request({ ':path': '/', ':authority': `${servername}:${port}` });
    let body = '';
    let status = 0;
    req.setEncoding('utf8');
    req.on('response', (h) => (status = Number(h[':status'])));
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const alpn = client.alpnProtocol;
      client.close();
      resolve({ status, body, alpn });
    });
    req.on('error', reject);
  });
}

describe('TLS and HTTP/2', { timeout: 60_000 }, () => {
  let p: Portico;
  let a: TestCert;
  let b: TestCert;
  let c: TestCert;
  let main: number;
  let strict: number;
  let legacy: number;
  const resolve = (name: string, port: number): string[] => ['--resolve', `${name}:${port}:127.0.0.1`];

  before(async () => {
    [a, b, c] = [await testCert('a.test'), await testCert('b.test'), await testCert('c.test')];
    p = await startPortico({
      ports: 3,
      files: {
        'conf/a.crt': a.certPem, 'conf/a.key': a.keyPem,
        'conf/b.crt': b.certPem, 'conf/b.key': b.keyPem,
        'conf/c.crt': c.certPem, 'conf/c.key': c.keyPem,
      },
      config: ({ ports: [p1, p2, p3] }) => `${mainContext()}http {
    access_log off;
    server {
        listen 127.0.0.1:${p1} ssl default_server;
        http2 on;
        server_name a.test;
        ssl_certificate a.crt;
        ssl_certificate_key a.key;
        return 200 "a $server_protocol $scheme $https\\n";
    }
    server {
        listen 127.0.0.1:${p1} ssl;
        http2 on;
        server_name b.test;
        ssl_certificate b.crt;
        ssl_certificate_key b.key;
        return 200 "b $server_protocol\\n";
    }
    server {
        listen 127.0.0.1:${p2} ssl http2 default_server;
        ssl_reject_handshake on;
    }
    server {
        listen 127.0.0.1:${p2} ssl http2;
        server_name c.test;
        ssl_certificate c.crt;
        ssl_certificate_key c.key;
        return 200 "c\\n";
    }
    server {
        listen 127.0.0.1:${p3} ssl;
        server_name legacy.test;
        ssl_certificate a.crt;
        ssl_certificate_key a.key;
        ssl_protocols TLSv1.1 TLSv1.2;
        ssl_ciphers DEFAULT@SECLEVEL=0;
        return 200 "legacy\\n";
    }
}
`,
    });
    [main, strict, legacy] = p.ports as [number, number, number];
  });
  after(async () => {
    await p?.dispose();
  });

  it('curl --http1.1 and --http2 over HTTPS, verifying the certificate', T, async () => {
    const h1 = await curl([...resolve('a.test', main), '--cacert', p.path('conf/a.crt'), '--http1.1', `https://a.test:${main}/`]);
    assert.equal(h1.code, 0);
    assert.equal(h1.httpVersion, '1.1');
    assert.equal(h1.body, 'a HTTP/1.1 https on\n');
    const h2 = await curl([...resolve('a.test', main), '--cacert', p.path('conf/a.crt'), '--http2', `https://a.test:${main}/`]);
    assert.equal(h2.code, 0);
    assert.equal(h2.httpVersion, '2');
    assert.equal(h2.body, 'a HTTP/2.0 https on\n');
  });

  it('node:https and node:http2 clients', T, async () => {
    const r1 = await httpsGet(main, 'b.test', b.certPem);
    assert.deepEqual([r1.status, r1.body, r1.cn, r1.version], [200, 'b HTTP/1.1\n', 'b.test', '1.1']);
    const r2 = await h2Get(main, 'a.test', a.certPem);
    assert.deepEqual([r2.status, r2.body, r2.alpn], [200, 'a HTTP/2.0 https on\n', 'h2']);
    const r3 = await h2Get(main, 'b.test', b.certPem);
    assert.deepEqual([r3.status, r3.body], [200, 'b HTTP/2.0\n']);
  });

  it('SNI picks each server\'s certificate on one port; unknown names and no SNI get the default server\'s', T, async () => {
    const [ha, hb, unknown, none] = await Promise.all([
      handshake(main, { servername: 'a.test' }),
      handshake(main, { servername: 'b.test' }),
      handshake(main, { servername: 'unknown.test' }),
      handshake(main, {}),
    ]);
    assert.deepEqual([ha.cn, ha.san], ['a.test', 'DNS:a.test']);
    assert.deepEqual([hb.cn, hb.san], ['b.test', 'DNS:b.test']);
    assert.equal(unknown.cn, 'a.test');
    assert.equal(none.cn, 'a.test');
    const viaCurl = await curl([...resolve('x.test', main), '-k', `https://x.test:${main}/`]);
    assert.equal(viaCurl.code, 0);
    assert.equal(viaCurl.body, 'a HTTP/2.0 https on\n');
  });

  it('ssl_reject_handshake on in the default server: unknown names fail the handshake, configured names succeed', T, async () => {
    await assert.rejects(handshake(strict, { servername: 'unknown.test' }));
    await assert.rejects(handshake(strict, {}));
    const ok = await handshake(strict, { servername: 'c.test' });
    assert.equal(ok.cn, 'c.test');
    const viaCurl = await curl([...resolve('z.test', strict), '-k', `https://z.test:${strict}/`]);
    assert.equal(viaCurl.code, 35, 'curl: SSL connect error');
    const good = await curl([...resolve('c.test', strict), '--cacert', p.path('conf/c.crt'), `https://c.test:${strict}/`]);
    assert.deepEqual([good.code, good.body, good.httpVersion], [0, 'c\n', '2']);
  });

  it('ALPN: h2 and http/1.1 on the same port, h2 preferred', T, async () => {
    const [h2only, h1only, both] = await Promise.all([
      handshake(main, { servername: 'a.test', ALPNProtocols: ['h2'] }),
      handshake(main, { servername: 'a.test', ALPNProtocols: ['http/1.1'] }),
      handshake(main, { servername: 'a.test', ALPNProtocols: ['http/1.1', 'h2'] }),
    ]);
    assert.deepEqual([h2only.alpn, h1only.alpn, both.alpn], ['h2', 'http/1.1', 'h2']);
  });

  it('TLS 1.0 and 1.1 are refused by default; 1.2 and 1.3 accepted', T, async () => {
    const legacyCiphers = { ciphers: 'DEFAULT@SECLEVEL=0' };
    await assert.rejects(handshake(main, { servername: 'a.test', minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ...legacyCiphers }));
    const oldCurl = await curl([...resolve('a.test', main), '-k', '--tlsv1.0', '--tls-max', '1.1', '--ciphers', 'DEFAULT@SECLEVEL=0', `https://a.test:${main}/`]);
    assert.equal(oldCurl.code, 35);
    const plainTlsMax = await curl([...resolve('a.test', main), '-k', '--tls-max', '1.1', `https://a.test:${main}/`]);
    assert.notEqual(plainTlsMax.code, 0);
    const v12 = await handshake(main, { servername: 'a.test', minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' });
    assert.equal(v12.protocol, 'TLSv1.2');
    const v13 = await handshake(main, { servername: 'a.test', minVersion: 'TLSv1.3' });
    assert.equal(v13.protocol, 'TLSv1.3');
    const curl12 = await curl([...resolve('a.test', main), '-k', '--tlsv1.2', '--tls-max', '1.2', `https://a.test:${main}/`]);
    assert.equal(curl12.code, 0);
    await waitFor('the refused handshake in error.log', () => /SSL handshake failed: .*unsupported protocol/.test(p.errorLog()), 3000, () => p.errorLog());
  });

  it('control: a server with ssl_protocols TLSv1.1 accepts the same TLS 1.1 clients', T, async () => {
    const v11 = await handshake(legacy, { servername: 'legacy.test', minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' });
    assert.equal(v11.protocol, 'TLSv1.1');
    const oldCurl = await curl([...resolve('legacy.test', legacy), '-k', '--tlsv1.1', '--tls-max', '1.1', '--ciphers', 'DEFAULT@SECLEVEL=0', `https://legacy.test:${legacy}/`]);
    assert.deepEqual([oldCurl.code, oldCurl.body], [0, 'legacy\n']);
  });

  it('a reload with new certificate files serves them, to SNI and to no-SNI clients alike', T, async () => {
    await writeFile(p.path('conf/a.crt'), b.certPem);
    await writeFile(p.path('conf/a.key'), b.keyPem);
    process.kill(p.pid, 'SIGHUP');
    await waitFor('the new default certificate', async () => (await handshake(main, {})).cn === 'b.test', 5000);
    assert.equal((await handshake(main, { servername: 'a.test' })).cn, 'b.test');
    assert.equal((await handshake(main, { servername: 'unknown.test' })).cn, 'b.test');
  });
});
