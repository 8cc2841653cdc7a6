// Makes the demo config's self-signed certificate (node-forge, via src/tls/self-signed.ts) unless it exists.
// Run by `npm start` before Portico starts.

import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { selfSignedCertificate } from '../src/tls/self-signed.ts';

const dir = new URL('../certs/demo/', import.meta.url);
const cert = new URL('localhost.crt', dir);
const key = new URL('localhost.key', dir);
if (!existsSync(cert) || !existsSync(key)) {
  mkdirSync(dir, { recursive: true });
  const c = selfSignedCertificate(['localhost', '127.0.0.1'], { validityDays: 365 });
  writeFileSync(key, c.keyPem, { mode: 0o600 });
  writeFileSync(cert, c.certPem);
  process.stderr.write(`portico: made a self-signed demo certificate in ${dir.pathname}\n`);
}
