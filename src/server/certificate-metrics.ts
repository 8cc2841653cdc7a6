// Feeds the metrics registry with certificate facts: every certificate the ACME manager installs (stored, issued or
// self-signed placeholder) and every ACME failure, and the expiry of ssl_certificate files as they are loaded.
// Not the manager and not the exposition.

import { countAcmeFailure, setCertificate } from '../observability/metrics.ts';
import { readCertificateInfo } from '../tls/cert-info.ts';
import type { CertificateManager } from '../tls/manager.ts';

export function watchCertificates(manager: CertificateManager): void {
  manager.on('change', (c) => setCertificate(c.names, c.source, c.notAfter));
  manager.on('failure', (f) => countAcmeFailure(f.issuer));
}

/** A PEM chain from an ssl_certificate file; one that does not parse is left to the TLS context to report. */
export function recordFileCertificate(pem: Buffer): void {
  try {
    const info = readCertificateInfo(pem.toString('latin1'));
    setCertificate(info.names, 'file', info.notAfter);
  } catch {}
}
