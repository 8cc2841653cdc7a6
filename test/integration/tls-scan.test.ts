// testssl.sh against a Portico HTTPS listener with the default TLS settings (no ssl_* directives): no HIGH or
// CRITICAL finding (scripts/tls-scan.sh). The certificate is a leaf of a private test CA handed to testssl.sh with
// --add-ca, so the chain is judged too; see the script for the one certificate check it does not count.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireCommand } from '../helpers/debian.ts';
import { makeTempDir, removeTempDir } from '../helpers/tmp.ts';
import { mainContext, startPortico, type Portico } from './support/portico.ts';

const SCRIPT = fileURLToPath(new URL('../../scripts/tls-scan.sh', import.meta.url));
let portico: Portico;

/** A private CA and a localhost leaf valid for a year, as a site's real certificate would be. */
function caAndLeaf(): { caPem: string; certPem: string; keyPem: string } {
  const openssl = requireCommand('openssl', 'openssl');
  const dir = makeTempDir('portico-scan-ca-');
  const run = (...args: string[]) => execFileSync(openssl, args, { cwd: dir, stdio: 'pipe', timeout: 20_000 });
  try {
    run('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '3650', '-subj', '/CN=portico scan test CA',
      '-keyout', 'ca.key', '-out', 'ca.pem', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
    run('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=localhost', '-keyout', 'key.pem', '-out', 'leaf.csr');
    writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n');
    run('x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '365', '-out', 'cert.pem', '-extfile', 'ext.cnf');
    const read = (f: string) => readFileSync(join(dir, f), 'utf8');
    return { caPem: read('ca.pem'), certPem: read('cert.pem') + read('ca.pem'), keyPem: read('key.pem') };
  } finally {
    removeTempDir(dir);
  }
}

before(async () => {
  requireCommand('testssl', 'testssl.sh');
  const certs = caAndLeaf();
  portico = await startPortico({
    config: (c) => `${mainContext()}
http {
  server {
    listen 127.0.0.1:${c.ports[0]} ssl;
    http2 on;
    server_name localhost;
    ssl_certificate cert.pem;
    ssl_certificate_key key.pem;
    add_header Strict-Transport-Security "max-age=31536000" always;
    location / { return 200 "ok\\n"; }
  }
}
`,
    files: { 'conf/cert.pem': certs.certPem, 'conf/key.pem': certs.keyPem, 'conf/ca.pem': certs.caPem },
  });
});

after(async () => {
  await portico?.dispose();
});

test('testssl.sh finds nothing HIGH or CRITICAL with the default TLS settings', { timeout: 240_000 }, async () => {
  const result = await new Promise<{ code: number; out: string }>((resolve) => {
    execFile('bash', [SCRIPT, `localhost:${portico.port}`, '--add-ca', portico.path('conf/ca.pem')], { timeout: 230_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr });
    });
  });
  assert.equal(result.code, 0, result.out);
  assert.match(result.out, /no HIGH or CRITICAL findings/);
});
