// proxy_pass to an HTTPS upstream with the proxy_ssl_* basics: no verification by default (nginx's default),
// proxy_ssl_verify with proxy_ssl_trusted_certificate, proxy_ssl_name checked against the certificate, SNI sent
// with proxy_ssl_server_name, and 502 when the chain or the name does not verify.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { requireCommand } from '../helpers/debian.ts';
import { makeTempDir, removeTempDir } from '../helpers/tmp.ts';
import { request } from './support/http.ts';
import { waitFor } from './support/process.ts';
import { mainContext, startPortico, type Portico } from './support/portico.ts';

function caAndLeaf(name: string): { caPem: string; certPem: string; keyPem: string } {
  const openssl = requireCommand('openssl', 'openssl');
  const dir = makeTempDir('portico-upstream-ca-');
  const run = (...args: string[]) => execFileSync(openssl, args, { cwd: dir, stdio: 'pipe', timeout: 20_000 });
  try {
    run('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '30', '-subj', '/CN=upstream test CA',
      '-keyout', 'ca.key', '-out', 'ca.pem', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
    run('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${name}`, '-keyout', 'key.pem', '-out', 'leaf.csr');
    writeFileSync(join(dir, 'ext.cnf'), `subjectAltName=DNS:${name}\nextendedKeyUsage=serverAuth\n`);
    run('x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '30', '-out', 'cert.pem', '-extfile', 'ext.cnf');
    const read = (f: string) => readFileSync(join(dir, f), 'utf8');
    return { caPem: read('ca.pem'), certPem: read('cert.pem'), keyPem: read('key.pem') };
  } finally {
    removeTempDir(dir);
  }
}

describe('proxy_pass to an HTTPS upstream', () => {
  let origin: Server;
  let portico: Portico;
  const sniSeen: (string | false)[] = [];

  before(async () => {
    const pki = caAndLeaf('backend.test');
    origin = createServer({ cert: pki.certPem, key: pki.keyPem }, (req, res) => {
      sniSeen.push((req.socket as TLSSocket).servername ?? false);
      res.end(`secure origin ${req.url}`);
    });
    await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
    const up = (origin.address() as AddressInfo).port;
    portico = await startPortico({
      files: { 'conf/ca.pem': pki.caPem },
      config: (c) => `${mainContext()}
http {
  server {
    listen 127.0.0.1:${c.ports[0]};
    location /plain/ { proxy_pass https://127.0.0.1:${up}; }
    location /verified/ {
      proxy_pass https://127.0.0.1:${up};
      proxy_ssl_verify on;
      proxy_ssl_trusted_certificate ca.pem;
      proxy_ssl_server_name on;
      proxy_ssl_name backend.test;
    }
    location /wrong-name/ {
      proxy_pass https://127.0.0.1:${up};
      proxy_ssl_verify on;
      proxy_ssl_trusted_certificate ca.pem;
      proxy_ssl_name other.test;
    }
    location /untrusted/ {
      proxy_pass https://127.0.0.1:${up};
      proxy_ssl_verify on;
      proxy_ssl_name backend.test;
    }
  }
}
`,
    });
  });

  after(async () => {
    await portico?.dispose();
    await new Promise<void>((r) => origin.close(() => r()));
  });

  it('does not verify by default and sends no SNI, as nginx', async () => {
    sniSeen.length = 0;
    const r = await request(portico.port, '/plain/x');
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'secure origin /plain/x');
    assert.deepEqual(sniSeen, [false]);
  });

  it('verifies the chain and proxy_ssl_name, sending it as SNI', async () => {
    sniSeen.length = 0;
    const r = await request(portico.port, '/verified/y');
    assert.equal(r.status, 200);
    assert.deepEqual(sniSeen, ['backend.test']);
  });

  it('a name the certificate does not carry is a 502 with a log line', async () => {
    const r = await request(portico.port, '/wrong-name/z');
    assert.equal(r.status, 502);
    await waitFor('the error log line', () => /upstream/.test(portico.errorLog()), 5000, () => portico.errorLog());
  });

  it('a chain not signed by a trusted certificate is a 502', async () => {
    const r = await request(portico.port, '/untrusted/z');
    assert.equal(r.status, 502);
  });
});
