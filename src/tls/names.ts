// Host-name normalisation and name-set identity shared by the SNI table, the self-signed cache and the manager.
// Not a validator of DNS syntax beyond what certificate requests need.

import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { PorticoError } from '../core/errors.ts';

/** Lower case, no trailing dot. */
export function normalizeName(name: string): string {
  const n = name.trim().toLowerCase();
  return n.endsWith('.') ? n.slice(0, -1) : n;
}

/** Sorted, de-duplicated, normalised. */
export function normalizeNames(names: readonly string[]): string[] {
  return [...new Set(names.map(normalizeName))].filter((n) => n.length > 0).sort();
}

export function nameSetKey(names: readonly string[]): string {
  return normalizeNames(names).join(',');
}

export function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** A name an ACME CA can validate with http-01 or tls-alpn-01: a DNS name (no wildcard) or an IP address. */
export function assertAcmeName(name: string): void {
  if (isIP(name) !== 0) return;
  if (name.startsWith('*.')) {
    throw new PorticoError('TLS_ACME_WILDCARD', 'config', `wildcard name ${name} needs dns-01, which is not supported`);
  }
  if (name.length > 253 || !name.split('.').every((l) => LABEL.test(l))) {
    throw new PorticoError('TLS_ACME_BAD_NAME', 'config', `${JSON.stringify(name)} is not a valid host name for ACME`);
  }
}
