// Certificate and account key types in nginx's alg:size notation, and key generation for them.
// Not a key store.

import { generateKeyPairSync } from 'node:crypto';
import { PorticoError } from '../../core/errors.ts';

export type KeyType = 'ecdsa:256' | 'ecdsa:384' | 'ecdsa:521' | 'rsa:2048' | 'rsa:3072' | 'rsa:4096';

export const DEFAULT_KEY_TYPE: KeyType = 'ecdsa:256';

const ALL: readonly KeyType[] = ['ecdsa:256', 'ecdsa:384', 'ecdsa:521', 'rsa:2048', 'rsa:3072', 'rsa:4096'];

/** 'ecdsa' = 'ecdsa:256', 'rsa' = 'rsa:2048', as in nginx's acme_certificate key= and account_key. */
export function parseKeyType(text: string): KeyType {
  const t = text.trim().toLowerCase();
  const full = t === 'ecdsa' ? 'ecdsa:256' : t === 'rsa' ? 'rsa:2048' : t;
  if ((ALL as readonly string[]).includes(full)) return full as KeyType;
  throw new PorticoError('TLS_CONFIG', 'config', `unsupported key type ${JSON.stringify(text)} (use ${ALL.join(', ')})`);
}

const CURVE: Record<string, string> = { '256': 'P-256', '384': 'P-384', '521': 'P-521' };

/** PKCS#8 PEM. */
export function generatePrivateKeyPem(type: KeyType): string {
  const [alg, size] = type.split(':') as [string, string];
  if (alg === 'rsa') {
    return generateKeyPairSync('rsa', { modulusLength: Number(size) }).privateKey
      .export({ type: 'pkcs8', format: 'pem' }).toString();
  }
  return generateKeyPairSync('ec', { namedCurve: CURVE[size] ?? 'P-256' }).privateKey
    .export({ type: 'pkcs8', format: 'pem' }).toString();
}
