// ACME account key and account URL per issuer, persisted in Storage (or a key file, nginx's account_key <file>).
// Not the protocol calls; issuer.ts registers or looks up the account with acme-client.

import { createHash, createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { PorticoError } from '../../core/errors.ts';
import { storageKeys } from '../storage.ts';
import type { Storage } from '../storage.ts';
import { generatePrivateKeyPem } from './key-types.ts';
import type { KeyType } from './key-types.ts';

export interface AccountRecord {
  url: string;
  directoryUrl: string;
  keyFingerprint: string;
  createdAt: string;
}

export function keyFingerprint(keyPem: string): string {
  const der = createPublicKey(keyPem).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex');
}

/** The account key: from keyPath when given, else from storage, else generated and stored (mode 0600). */
export async function loadAccountKey(storage: Storage, issuer: string, keyType: KeyType, keyPath?: string): Promise<{ keyPem: string; generated: boolean }> {
  if (keyPath !== undefined) {
    try {
      const keyPem = await readFile(keyPath, 'utf8');
      keyFingerprint(keyPem);
      return { keyPem, generated: false };
    } catch (e) {
      throw new PorticoError('TLS_CONFIG', 'config', `account_key ${keyPath}: ${(e as Error).message}`, { cause: e });
    }
  }
  const stored = await storage.get(storageKeys.accountKey(issuer));
  if (stored !== undefined) {
    const keyPem = stored.toString('utf8');
    try {
      keyFingerprint(keyPem);
      return { keyPem, generated: false };
    } catch (e) {
      throw new PorticoError('TLS_STATE_CORRUPT', 'internal',
        `stored ACME account key for issuer ${issuer} does not parse: ${(e as Error).message}`, { cause: e });
    }
  }
  const keyPem = generatePrivateKeyPem(keyType);
  await storage.put(storageKeys.accountKey(issuer), keyPem, { secret: true });
  return { keyPem, generated: true };
}

/** The stored account URL if it belongs to this directory and key; undefined otherwise (or unreadable). */
export async function loadAccountRecord(storage: Storage, issuer: string, directoryUrl: string, keyPem: string): Promise<AccountRecord | undefined> {
  const raw = await storage.get(storageKeys.accountMeta(issuer));
  if (raw === undefined) return undefined;
  try {
    const r = JSON.parse(raw.toString('utf8')) as Partial<AccountRecord>;
    if (typeof r.url === 'string' && r.directoryUrl === directoryUrl && r.keyFingerprint === keyFingerprint(keyPem)) {
      return r as AccountRecord;
    }
  } catch {
    // Unreadable: the account is looked up again with onlyReturnExisting.
  }
  return undefined;
}

export async function saveAccountRecord(storage: Storage, issuer: string, record: AccountRecord): Promise<void> {
  await storage.put(storageKeys.accountMeta(issuer), JSON.stringify(record, null, 2));
}

export async function forgetAccountRecord(storage: Storage, issuer: string): Promise<void> {
  await storage.delete(storageKeys.accountMeta(issuer));
}

/** nginx's contact directive: a bare address gets 'mailto:'. */
export function normalizeContact(contact: readonly string[]): string[] {
  return contact.map((c) => (/^[a-z][a-z0-9+.-]*:/i.test(c) ? c : `mailto:${c}`));
}
