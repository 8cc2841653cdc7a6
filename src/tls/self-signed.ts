// Self-signed placeholder certificates (RSA 2048 via node:crypto, signed with node-forge), cached per name set.
// Not trusted by anyone: served while a real certificate is being obtained, and for the demo config.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import type * as Forge from 'node-forge';
import { PorticoError } from '../core/errors.ts';
import { lazyModule } from '../core/lazy-module.ts';
import { nameSetKey, normalizeNames } from './names.ts';

export interface SelfSigned {
  names: string[];
  certPem: string;
  keyPem: string;
  notBefore: number;
  notAfter: number;
}

export interface SelfSignedOptions {
  validityDays?: number;
  now?: () => number;
}

const DAY = 86_400_000;
const MAX_CACHED = 1000;
const cache = new Map<string, SelfSigned>();
/** node-forge on first use (a configuration without self-signed placeholders never loads it). */
const forgeLib = lazyModule<typeof Forge>('node-forge');

function altName(name: string): { type: number; value?: string; ip?: string } {
  return isIP(name) !== 0 ? { type: 7, ip: name } : { type: 2, value: name };
}

function build(names: string[], notBefore: number, notAfter: number): SelfSigned {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const forge = forgeLib();
  const forgeKey = forge.pki.privateKeyFromPem(keyPem) as Forge.pki.rsa.PrivateKey;
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e);
  const serial = randomBytes(16);
  serial[0] = (serial[0] ?? 0) & 0x7f | 0x01;
  cert.serialNumber = serial.toString('hex');
  cert.validity.notBefore = new Date(notBefore);
  cert.validity.notAfter = new Date(notAfter);
  const cn = (names[0] ?? 'localhost').slice(0, 64);
  const subject = [{ name: 'commonName', value: cn }, { name: 'organizationName', value: 'Portico self-signed' }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: names.map(altName) },
  ]);
  cert.sign(forgeKey, forge.md.sha256.create());
  return { names, certPem: forge.pki.certificateToPem(cert), keyPem, notBefore, notAfter };
}

/** Same name set (any order or case) returns the cached certificate until one day before it expires. */
export function selfSignedCertificate(names: readonly string[], options: SelfSignedOptions = {}): SelfSigned {
  const normalized = normalizeNames(names);
  if (normalized.length === 0) {
    throw new PorticoError('TLS_SELF_SIGNED_NO_NAMES', 'internal', 'self-signed certificate needs at least one name');
  }
  const now = (options.now ?? Date.now)();
  const key = `${nameSetKey(normalized)}|${options.validityDays ?? 90}`;
  const hit = cache.get(key);
  if (hit !== undefined && hit.notAfter - DAY > now && hit.notBefore <= now) return hit;
  const created = build(normalized, now - 3_600_000, now + (options.validityDays ?? 90) * DAY);
  cache.delete(key);
  cache.set(key, created);
  if (cache.size > MAX_CACHED) {
    const oldest = cache.keys().next().value;
    if (oldest !== undefined) cache.delete(oldest);
  }
  return created;
}
