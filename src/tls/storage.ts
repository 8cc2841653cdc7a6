// Storage contract for TLS state: named blobs plus expiring named locks, and the key layout used by src/tls.
// Not an implementation: file-storage.ts is the file-backed one; a Redis backend would implement the same interface.

import { PorticoError } from '../core/errors.ts';

export interface PutOptions {
  /** Private material (keys): stored readable by the owner only. */
  secret?: boolean;
}

export interface LockOptions {
  /** How long the lock stays valid without a refresh; a crashed holder blocks others at most this long. */
  ttlMs?: number;
  /** How long to wait for a busy lock before giving up. 0 = try once. */
  waitMs?: number;
  /** Poll interval while waiting. */
  pollMs?: number;
}

export interface LockHandle {
  readonly name: string;
  /** Extends the expiry by ttlMs from now; false if the lock was lost (expired and taken by another holder). */
  refresh(): Promise<boolean>;
  release(): Promise<void>;
}

export interface Storage {
  get(key: string): Promise<Buffer | undefined>;
  put(key: string, value: Buffer | string, options?: PutOptions): Promise<void>;
  /** Deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
  /** Keys (full names) that start with prefix, sorted. */
  list(prefix: string): Promise<string[]>;
  /** Undefined when the lock stayed busy for waitMs. */
  lock(name: string, options?: LockOptions): Promise<LockHandle | undefined>;
}

const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._@=+-]*$/;

/** Keys are '/'-separated segments of a safe alphabet: no '..', no absolute paths, no empty segments. */
export function assertStorageKey(key: string): void {
  const segments = key.split('/');
  if (key.length === 0 || key.length > 512 || !segments.every((s) => SEGMENT.test(s) && s !== '.' && s !== '..')) {
    throw new PorticoError('TLS_STORAGE_BAD_KEY', 'internal', `invalid storage key ${JSON.stringify(key)}`);
  }
}

/** Turns any name (issuer name, host name) into one safe key segment. */
export function keySegment(name: string): string {
  const cleaned = name.toLowerCase().replace(/\*/g, '_wildcard_').replace(/[^a-z0-9._-]/g, '_').replace(/^[.-]+/, '');
  return cleaned.length > 0 ? cleaned.slice(0, 100) : '_';
}

export const storageKeys = {
  accountKey: (issuer: string) => `acme/${keySegment(issuer)}/account.key`,
  accountMeta: (issuer: string) => `acme/${keySegment(issuer)}/account.json`,
  certificateDir: (issuer: string, id: string) => `certificates/${keySegment(issuer)}/${id}`,
  certificateChain: (issuer: string, id: string) => `certificates/${keySegment(issuer)}/${id}/chain.pem`,
  certificateKey: (issuer: string, id: string) => `certificates/${keySegment(issuer)}/${id}/key.pem`,
  certificateMeta: (issuer: string, id: string) => `certificates/${keySegment(issuer)}/${id}/meta.json`,
  httpToken: (token: string) => `http-01/${token}`,
  issueLock: (issuer: string, id: string) => `issue-${keySegment(issuer)}-${id}`,
  accountLock: (issuer: string) => `account-${keySegment(issuer)}`,
} as const;

/**
 * Runs fn while holding the named lock, refreshing it every ttl/3 so long operations keep it.
 * Throws TLS_LOCK_BUSY when the lock cannot be had within waitMs.
 */
export async function withLock<T>(storage: Storage, name: string, options: LockOptions, fn: () => Promise<T>): Promise<T> {
  const ttlMs = options.ttlMs ?? 120_000;
  const handle = await storage.lock(name, { ...options, ttlMs });
  if (handle === undefined) {
    throw new PorticoError('TLS_LOCK_BUSY', 'internal', `lock ${name} is held by another process`);
  }
  const keepAlive = setInterval(() => { void handle.refresh().catch(() => undefined); }, Math.max(50, Math.floor(ttlMs / 3)));
  keepAlive.unref();
  try {
    return await fn();
  } finally {
    clearInterval(keepAlive);
    await handle.release();
  }
}
