// Reads what the manager needs from a PEM chain and key (names, validity, issuer, key match) via crypto.X509Certificate.
// Not a chain validator against trust roots; that is the TLS client's job.

import { X509Certificate, createPrivateKey } from 'node:crypto';
import { PorticoError } from '../core/errors.ts';

export interface CertificateInfo {
  names: string[];
  notBefore: number;
  notAfter: number;
  issuer: string;
  subject: string;
  serialNumber: string;
  fingerprint256: string;
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

export function splitPemChain(chainPem: string): string[] {
  return chainPem.match(PEM_BLOCK) ?? [];
}

/** Certificates joined one per block, with the trailing newline OpenSSL needs to read them all. */
export function joinPemChain(pems: readonly string[]): string {
  return pems.map((p) => p.trim()).join('\n') + '\n';
}

function sanNames(cert: X509Certificate): string[] {
  const san = cert.subjectAltName;
  if (san === undefined) return [];
  const out: string[] = [];
  for (const part of san.split(/,\s*/)) {
    const m = /^(DNS|IP Address):(.+)$/.exec(part);
    if (m?.[2] !== undefined) out.push(m[2].toLowerCase());
  }
  return out;
}

export function readCertificateInfo(chainPem: string): CertificateInfo {
  const first = splitPemChain(chainPem)[0];
  if (first === undefined) {
    throw new PorticoError('TLS_CERT_PARSE', 'internal', 'no PEM certificate found');
  }
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(first);
  } catch (e) {
    throw new PorticoError('TLS_CERT_PARSE', 'internal', `certificate does not parse: ${(e as Error).message}`, { cause: e });
  }
  return {
    names: sanNames(cert),
    notBefore: cert.validFromDate.getTime(),
    notAfter: cert.validToDate.getTime(),
    issuer: cert.issuer.replace(/\n/g, ', '),
    subject: cert.subject.replace(/\n/g, ', '),
    serialNumber: cert.serialNumber,
    fingerprint256: cert.fingerprint256,
  };
}

/** Throws TLS_CERT_KEY_MISMATCH when keyPem is not the private key of the chain's leaf. */
export function assertKeyMatches(chainPem: string, keyPem: string): void {
  const first = splitPemChain(chainPem)[0];
  let ok = false;
  try {
    ok = first !== undefined && new X509Certificate(first).checkPrivateKey(createPrivateKey(keyPem));
  } catch (e) {
    throw new PorticoError('TLS_CERT_KEY_MISMATCH', 'internal', `key does not parse: ${(e as Error).message}`, { cause: e });
  }
  if (!ok) throw new PorticoError('TLS_CERT_KEY_MISMATCH', 'internal', 'private key does not match the certificate');
}

/** Names in `wanted` that the certificate does not list in its subjectAltName. */
export function missingNames(info: CertificateInfo, wanted: readonly string[]): string[] {
  const have = new Set(info.names);
  return wanted.filter((n) => !have.has(n));
}
