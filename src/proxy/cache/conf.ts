// Configuration slots of the response cache for proxy_*, fastcgi_* and uwsgi_* (one set per prefix, like the
// upstream slots), the *_cache_path zone declarations of the http level, and the purge module's own settings.
// Values only: directives.ts fills them, location.ts compiles them into a per-location plan.

import type { AccessRule } from '../../access/directives.ts';
import type { CacheValidRule } from '../../cache/freshness.ts';
import type { PurgeResponseType } from '../../cache/purge-response.ts';
import { defineSlot, type Origin, type Slot } from '../../config/scope.ts';
import type { Template } from '../../core/variables.ts';
import { UPSTREAM_FAILURES, type UpstreamFailure, type UpstreamPrefix } from '../upstream/conf.ts';

/** One `*_cache_path` line. The path is resolved against the prefix when the runtime is built. */
export interface CachePathSpec {
  readonly prefix: UpstreamPrefix;
  readonly name: string;
  readonly size: number;
  readonly path: string;
  readonly levels: readonly number[];
  readonly inactive: number | undefined;
  readonly maxSize: number | undefined;
  readonly minFree: number | undefined;
  readonly useTempPath: boolean;
  readonly loaderFiles: number | undefined;
  readonly managerFiles: number | undefined;
  readonly origin: Origin;
}

export type StaleCondition = UpstreamFailure | 'updating';

export const STALE_CONDITIONS: readonly StaleCondition[] = [...UPSTREAM_FAILURES, 'updating'];

/** nginx's ngx_http_upstream_cache_method_mask. */
export const CACHE_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'MKCOL', 'COPY', 'MOVE', 'OPTIONS', 'PROPFIND', 'PROPPATCH', 'LOCK', 'UNLOCK', 'PATCH'] as const;

export type CacheSetting = { readonly zone: string; readonly origin: Origin } | 'off';

/** Same-location purge: `*_cache_purge on|off|METHOD [purge_all] [from all|CIDR ...]`. */
export type PurgeSetting =
  | 'off'
  | {
      readonly method: string;
      readonly all: boolean;
      /** undefined: any client; else checked with allow/deny semantics (a final deny all is included). */
      readonly access: readonly AccessRule[] | undefined;
    };

/** Separate-location purge: `*_cache_purge zone_name key`. */
export interface PurgeLocationSpec {
  readonly zone: string;
  readonly key: Template;
  readonly origin: Origin;
}

export interface CacheSlots {
  cache: Slot<CacheSetting>;
  key: Slot<Template>;
  valid: Slot<CacheValidRule[]>;
  methods: Slot<Set<string>>;
  minUses: Slot<number>;
  bypass: Slot<Template[]>;
  noCache: Slot<Template[]>;
  useStale: Slot<Set<StaleCondition>>;
  backgroundUpdate: Slot<boolean>;
  lock: Slot<boolean>;
  lockTimeout: Slot<number>;
  lockAge: Slot<number>;
  revalidate: Slot<boolean>;
  maxRangeOffset: Slot<number>;
  tagHeaders: Slot<string[]>;
  purge: Slot<PurgeSetting>;
  purgeLocation: Slot<PurgeLocationSpec>;
}

const slots = new Map<UpstreamPrefix, CacheSlots>();

export function cacheSlots(prefix: UpstreamPrefix): CacheSlots {
  let s = slots.get(prefix);
  if (s) return s;
  s = {
    cache: defineSlot<CacheSetting>(`${prefix}_cache`),
    key: defineSlot<Template>(`${prefix}_cache_key`),
    valid: defineSlot<CacheValidRule[]>(`${prefix}_cache_valid`),
    methods: defineSlot<Set<string>>(`${prefix}_cache_methods`),
    minUses: defineSlot<number>(`${prefix}_cache_min_uses`),
    bypass: defineSlot<Template[]>(`${prefix}_cache_bypass`),
    noCache: defineSlot<Template[]>(`${prefix}_no_cache`),
    useStale: defineSlot<Set<StaleCondition>>(`${prefix}_cache_use_stale`),
    backgroundUpdate: defineSlot<boolean>(`${prefix}_cache_background_update`),
    lock: defineSlot<boolean>(`${prefix}_cache_lock`),
    lockTimeout: defineSlot<number>(`${prefix}_cache_lock_timeout`),
    lockAge: defineSlot<number>(`${prefix}_cache_lock_age`),
    revalidate: defineSlot<boolean>(`${prefix}_cache_revalidate`),
    maxRangeOffset: defineSlot<number>(`${prefix}_cache_max_range_offset`),
    tagHeaders: defineSlot<string[]>(`${prefix}_cache_tag_header`),
    purge: defineSlot<PurgeSetting>(`${prefix}_cache_purge`),
    purgeLocation: defineSlot<PurgeLocationSpec>(`${prefix}_cache_purge_location`, { inherit: false }),
  };
  slots.set(prefix, s);
  return s;
}

/** Every *_cache_path zone of the http block, by zone name (names are shared by the three prefixes, as in nginx). */
export const CACHE_PATHS = defineSlot<Map<string, CachePathSpec>>('cache_paths', { inherit: false });

export const PURGE_RESPONSE_TYPE = defineSlot<PurgeResponseType>('cache_purge_response_type');
/** The maintained fork's switch: on answers a purge of an uncached key with 412 instead of 404. */
export const PURGE_LEGACY_STATUS = defineSlot<boolean>('cache_purge_legacy_status');
/** on: wildcard, purge_all and tag purges are queued and answered 202 at once. */
export const PURGE_BACKGROUND_QUEUE = defineSlot<boolean>('cache_purge_background_queue');
