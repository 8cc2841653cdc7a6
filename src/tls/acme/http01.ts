// http-01 token store: pending tokens and their key authorizations, kept in Storage so any process sharing the
// state directory can answer. Not an HTTP handler: the lead calls lookup() from its plain-HTTP listeners.

import { PorticoError } from '../../core/errors.ts';
import { storageKeys } from '../storage.ts';
import type { Storage } from '../storage.ts';

export const HTTP01_PATH_PREFIX = '/.well-known/acme-challenge/';

const TOKEN = /^[A-Za-z0-9_-]{1,256}$/;

interface TokenRecord {
  keyAuthorization: string;
  expiresAt: number;
}

/** The token of a '/.well-known/acme-challenge/<token>' request path (query ignored), else undefined. */
export function http01Token(path: string): string | undefined {
  if (!path.startsWith(HTTP01_PATH_PREFIX)) return undefined;
  const rest = path.slice(HTTP01_PATH_PREFIX.length).split('?')[0] ?? '';
  return TOKEN.test(rest) ? rest : undefined;
}

export class Http01Tokens {
  readonly #storage: Storage;
  readonly #now: () => number;
  readonly #local = new Map<string, TokenRecord>();

  constructor(storage: Storage, now: () => number = Date.now) {
    this.#storage = storage;
    this.#now = now;
  }

  async publish(token: string, keyAuthorization: string, ttlMs = 600_000): Promise<void> {
    if (!TOKEN.test(token)) throw new PorticoError('TLS_ACME_BAD_TOKEN', 'upstream', 'CA sent a malformed http-01 token');
    const record: TokenRecord = { keyAuthorization, expiresAt: this.#now() + ttlMs };
    this.#local.set(token, record);
    await this.#storage.put(storageKeys.httpToken(token), JSON.stringify(record));
  }

  async remove(token: string): Promise<void> {
    this.#local.delete(token);
    if (TOKEN.test(token)) await this.#storage.delete(storageKeys.httpToken(token));
  }

  /** The key authorization for a pending token; undefined for unknown, finished or expired tokens. */
  async lookup(token: string): Promise<string | undefined> {
    if (!TOKEN.test(token)) return undefined;
    const now = this.#now();
    const local = this.#local.get(token);
    if (local !== undefined) return local.expiresAt > now ? local.keyAuthorization : undefined;
    const raw = await this.#storage.get(storageKeys.httpToken(token)).catch(() => undefined);
    if (raw === undefined) return undefined;
    try {
      const record = JSON.parse(raw.toString('utf8')) as Partial<TokenRecord>;
      if (typeof record.keyAuthorization === 'string' && typeof record.expiresAt === 'number' && record.expiresAt > now) {
        return record.keyAuthorization;
      }
    } catch {
      // A torn or foreign file is not a pending token.
    }
    return undefined;
  }
}
