// Persistence of issued certificates in Storage: chain.pem, key.pem (0600) and meta.json per certificate.
// Not a scheduler; loading validates the files (parse, key match, names) and reports corruption as TLS_STATE_CORRUPT.

import { PorticoError } from '../core/errors.ts';
import { assertKeyMatches, missingNames, readCertificateInfo } from './cert-info.ts';
import type { CertificateInfo } from './cert-info.ts';
import { keySegment, storageKeys } from './storage.ts';
import type { Storage } from './storage.ts';
import { nameSetKey, normalizeNames, shortHash } from './names.ts';

export interface CertificateMeta {
  names: string[];
  keyType: string;
  issuer: string;
  directoryUrl: string;
  notBefore: string;
  notAfter: string;
  serialNumber: string;
  fingerprint256: string;
  issuerDn: string;
  obtainedAt: string;
}

export interface StoredCertificate {
  chainPem: string;
  keyPem: string;
  info: CertificateInfo;
  meta: CertificateMeta;
}

/** Stable per (name set, key type): readable first name plus a hash. */
export function certificateId(names: readonly string[], keyType: string): string {
  const sorted = normalizeNames(names);
  return `${keySegment(sorted[0] ?? 'none')}-${shortHash(`${nameSetKey(sorted)}|${keyType}`)}`;
}

export async function saveCertificate(
  storage: Storage,
  issuer: string,
  id: string,
  cert: { names: readonly string[]; keyType: string; chainPem: string; keyPem: string; info: CertificateInfo },
  directoryUrl: string,
  now: number,
): Promise<CertificateMeta> {
  const meta: CertificateMeta = {
    names: [...cert.names],
    keyType: cert.keyType,
    issuer,
    directoryUrl,
    notBefore: new Date(cert.info.notBefore).toISOString(),
    notAfter: new Date(cert.info.notAfter).toISOString(),
    serialNumber: cert.info.serialNumber,
    fingerprint256: cert.info.fingerprint256,
    issuerDn: cert.info.issuer,
    obtainedAt: new Date(now).toISOString(),
  };
  await storage.put(storageKeys.certificateKey(issuer, id), cert.keyPem, { secret: true });
  await storage.put(storageKeys.certificateChain(issuer, id), cert.chainPem);
  await storage.put(storageKeys.certificateMeta(issuer, id), JSON.stringify(meta, null, 2));
  return meta;
}

function corrupt(issuer: string, id: string, what: string, cause?: unknown): PorticoError {
  return new PorticoError('TLS_STATE_CORRUPT', 'internal',
    `stored certificate ${storageKeys.certificateDir(issuer, id)} is unusable: ${what}`, { cause });
}

/** Undefined when nothing is stored; throws TLS_STATE_CORRUPT when files are missing, torn or inconsistent. */
export async function loadCertificate(storage: Storage, issuer: string, id: string, names: readonly string[]): Promise<StoredCertificate | undefined> {
  const [chain, key, metaRaw] = await Promise.all([
    storage.get(storageKeys.certificateChain(issuer, id)),
    storage.get(storageKeys.certificateKey(issuer, id)),
    storage.get(storageKeys.certificateMeta(issuer, id)),
  ]);
  if (chain === undefined && key === undefined && metaRaw === undefined) return undefined;
  if (chain === undefined) throw corrupt(issuer, id, 'chain.pem is missing');
  if (key === undefined) throw corrupt(issuer, id, 'key.pem is missing');
  const chainPem = chain.toString('utf8');
  const keyPem = key.toString('utf8');
  let info: CertificateInfo;
  try {
    info = readCertificateInfo(chainPem);
    assertKeyMatches(chainPem, keyPem);
  } catch (e) {
    throw corrupt(issuer, id, (e as Error).message, e);
  }
  const missing = missingNames(info, normalizeNames(names));
  if (missing.length > 0) throw corrupt(issuer, id, `certificate does not cover ${missing.join(', ')}`);
  let meta: CertificateMeta;
  try {
    meta = JSON.parse((metaRaw ?? Buffer.from('null')).toString('utf8')) as CertificateMeta;
    if (typeof meta !== 'object' || meta === null || typeof meta.directoryUrl !== 'string') throw new Error('meta.json is missing or malformed');
  } catch (e) {
    throw corrupt(issuer, id, (e as Error).message, e);
  }
  return { chainPem, keyPem, info, meta };
}
