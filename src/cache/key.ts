// Cache key hashing and on-disk placement as nginx does it: md5 hex of the key, and `levels` directories taken
// from the end of the hex name (ngx_create_hashed_filename), with nginx's `levels=` syntax and error message.
// Not the key template evaluation ($scheme$proxy_host$request_uri): the caller builds the key string.

import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { PorticoError } from '../core/errors.ts';

/** NGX_MAX_PATH_LEVEL */
export const MAX_LEVELS = 3;

const HASH_RE = /^[0-9a-f]{32}$/;

const RECENT_KEYS = 4096;
const recentHashes = new Map<string, string>();

/** md5 hex of the key; strings are hashed as UTF-8 (the last few thousand remembered), bytes as they are. */
export function keyHash(key: string | Uint8Array): string {
  if (typeof key !== 'string') return createHash('md5').update(key).digest('hex');
  let hash = recentHashes.get(key);
  if (hash === undefined) {
    hash = createHash('md5').update(key).digest('hex');
    if (recentHashes.size >= RECENT_KEYS) recentHashes.clear();
    recentHashes.set(key, hash);
  }
  return hash;
}

export function isKeyHash(name: string): boolean {
  return HASH_RE.test(name);
}

/**
 * Parses "1:2" (or "levels=1:2"): one to three levels of one or two characters each, colon-separated.
 * An empty spec means no levels. Throws PorticoError CACHE_LEVELS_INVALID with nginx's message.
 */
export function parseLevels(spec: string): number[] {
  const value = spec.startsWith('levels=') ? spec.slice(7) : spec;
  const levels: number[] = [];
  if (value === '') return levels;
  const parts = value.split(':');
  if (parts.length > MAX_LEVELS || parts.some((p) => p !== '1' && p !== '2')) {
    throw new PorticoError('CACHE_LEVELS_INVALID', 'config', `invalid "levels" "levels=${value}"`);
  }
  for (const p of parts) levels.push(Number(p));
  return levels;
}

/** Directory names for a hash, outermost first: levels [1, 2] of "...5029c" give ["c", "29"]. */
export function levelDirs(hash: string, levels: readonly number[]): string[] {
  const dirs: string[] = [];
  let end = hash.length;
  for (const width of levels) {
    dirs.push(hash.slice(end - width, end));
    end -= width;
  }
  return dirs;
}

export function entryDir(root: string, hash: string, levels: readonly number[]): string {
  return join(root, ...levelDirs(hash, levels));
}

export function entryPath(root: string, hash: string, levels: readonly number[]): string {
  return join(root, ...levelDirs(hash, levels), hash);
}
