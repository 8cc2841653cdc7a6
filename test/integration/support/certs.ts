// Test support: self-signed certificates made with `openssl req -x509` once per test process and cached, each
// with a CN and DNS subjectAltNames; tests write the PEMs into the prefix they serve from.
// Not a CA: nothing chains to anything; clients in tests either pin the certificate or skip verification.

import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { requireCommand } from '../../helpers/debian.ts';
import { makeTempDir, removeTempDir } from '../../helpers/tmp.ts';

export interface TestCert {
  cn: string;
  certPem: string;
  keyPem: string;
  fingerprint256: string;
}

const cache = new Map<string, TestCert>();
/** An EC P-256 self-signed certificate for cn (plus extra DNS names), valid for two days. */
export async function testCert(cn: string, altNames: string[] = []): Promise<TestCert> {
  const key = [cn, ...altNames].join(',');
  const hit = cache.get(key);
  if (hit) return hit;
  const openssl = requireCommand('openssl', 'openssl');
  const dir = makeTempDir('portico-cert-');
  const base = path.join(dir, 'cert');
  const san = [cn, ...altNames].map((n) => `DNS:${n}`).join(',');
  try {
    execFileSync(openssl, [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
      '-subj', `/CN=${cn}`, '-addext', `subjectAltName=${san}`, '-keyout', `${base}.key`, '-out', `${base}.crt`,
    ], { stdio: 'pipe', timeout: 10_000 });
  } catch (e) {
    removeTempDir(dir);
    const err = e as NodeJS.ErrnoException & { stderr?: Buffer };
    throw new Error(`openssl req failed: ${err.stderr?.toString() ?? err.message}`);
  }
  const certPem = readFileSync(`${base}.crt`, 'utf8');
  const keyPem = readFileSync(`${base}.key`, 'utf8');
  removeTempDir(dir);
  const cert: TestCert = { cn, certPem, keyPem, fingerprint256: new X509Certificate(certPem).fingerprint256 };
  cache.set(key, cert);
  return cert;
}
