// The names of $upstream_cache_status, in nginx's order, as a string-literal union.
// Not the logic that picks one: the proxy pipeline maps a zone lookup and its own outcome to a name.

export const CACHE_STATUSES = ['MISS', 'BYPASS', 'EXPIRED', 'STALE', 'UPDATING', 'REVALIDATED', 'HIT'] as const;

export type CacheStatus = (typeof CACHE_STATUSES)[number];

export function isCacheStatus(value: string): value is CacheStatus {
  return (CACHE_STATUSES as readonly string[]).includes(value);
}
