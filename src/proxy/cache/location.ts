// Compiles a location's cache directives (for the prefix of its *_pass) into the plain plan the request path reads:
// the zone handle, the key template, validity rules, predicates, stale/lock/revalidate settings, tag headers and
// the same-location purge settings. Also nginx's configuration errors: unknown zone, missing fastcgi/uwsgi key.

import type { CacheValidRule } from '../../cache/freshness.ts';
import type { PurgeResponseType } from '../../cache/purge-response.ts';
import { ConfigError } from '../../config/errors.ts';
import type { Origin, Scope } from '../../config/scope.ts';
import { compileTemplate, type Template } from '../../core/variables.ts';
import type { BuildContext } from '../content.ts';
import type { RequestSession } from '../session.ts';
import { upstreamSlots, type UpstreamPrefix } from '../upstream/conf.ts';
import {
  CACHE_PATHS,
  cacheSlots,
  PURGE_BACKGROUND_QUEUE,
  PURGE_LEGACY_STATUS,
  PURGE_RESPONSE_TYPE,
  type PurgeSetting,
  type StaleCondition,
} from './conf.ts';
import { zoneHandle, type ZoneHandle } from './zones.ts';

export interface PurgeAnswerConf {
  readonly type: PurgeResponseType;
  readonly legacyStatus: boolean;
  readonly backgroundQueue: boolean;
}

export interface CacheLocation {
  readonly prefix: UpstreamPrefix;
  readonly zone: ZoneHandle;
  readonly key: Template;
  readonly valid: readonly CacheValidRule[];
  readonly methods: ReadonlySet<string>;
  readonly minUses: number;
  readonly bypass: readonly Template[];
  readonly noCache: readonly Template[];
  readonly useStale: ReadonlySet<StaleCondition>;
  readonly backgroundUpdate: boolean;
  readonly lock: boolean;
  readonly lockTimeout: number;
  readonly lockAge: number;
  readonly revalidate: boolean;
  /** Infinity when unset. */
  readonly maxRangeOffset: number;
  readonly tagHeaders: readonly string[];
  readonly ignoreHeaders: readonly string[];
  readonly purge: PurgeSetting;
  readonly answers: PurgeAnswerConf;
}

let defaultProxyKey: Template | undefined;
const DEFAULT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD']);

/** The zone named by *_cache or *_cache_purge, declared by a *_cache_path of the same prefix. */
export function resolveZone(ctx: BuildContext, prefix: UpstreamPrefix, directive: string, name: string, origin: Origin): ZoneHandle {
  const spec = ctx.http?.own(CACHE_PATHS)?.get(name);
  if (!spec || spec.prefix !== prefix) throw new ConfigError(`"${directive}" zone "${name}" is unknown`, origin.file, origin.line);
  return zoneHandle(ctx, spec);
}

export function purgeAnswers(scope: Scope): PurgeAnswerConf {
  return {
    type: scope.get(PURGE_RESPONSE_TYPE) ?? 'html',
    legacyStatus: scope.get(PURGE_LEGACY_STATUS) ?? false,
    backgroundQueue: scope.get(PURGE_BACKGROUND_QUEUE) ?? false,
  };
}

/** undefined when the location does not cache (no *_cache, or *_cache off). */
export function compileCacheLocation(prefix: UpstreamPrefix, scope: Scope, ctx: BuildContext): CacheLocation | undefined {
  const s = cacheSlots(prefix);
  const separate = scope.own(s.purgeLocation);
  if (separate) throw new ConfigError(`"${prefix}_cache_purge" is incompatible with "${prefix}_pass"`, separate.origin.file, separate.origin.line);
  const setting = scope.get(s.cache);
  if (setting === undefined || setting === 'off') return undefined;
  const zone = resolveZone(ctx, prefix, `${prefix}_cache`, setting.zone, setting.origin);
  let key = scope.get(s.key);
  if (!key) {
    if (prefix !== 'proxy') throw new ConfigError(`no "${prefix}_cache_key" for "${prefix}_cache"`, scope.origin.file, scope.origin.line);
    key = defaultProxyKey ??= compileTemplate('$scheme$proxy_host$request_uri');
  }
  return {
    prefix,
    zone,
    key,
    valid: scope.get(s.valid) ?? [],
    methods: scope.get(s.methods) ?? DEFAULT_METHODS,
    minUses: scope.get(s.minUses) ?? 1,
    bypass: scope.get(s.bypass) ?? [],
    noCache: scope.get(s.noCache) ?? [],
    useStale: scope.get(s.useStale) ?? new Set(),
    backgroundUpdate: scope.get(s.backgroundUpdate) ?? false,
    lock: scope.get(s.lock) ?? false,
    lockTimeout: scope.get(s.lockTimeout) ?? 5000,
    lockAge: scope.get(s.lockAge) ?? 5000,
    revalidate: scope.get(s.revalidate) ?? false,
    maxRangeOffset: scope.get(s.maxRangeOffset) ?? Number.POSITIVE_INFINITY,
    tagHeaders: scope.get(s.tagHeaders) ?? [],
    ignoreHeaders: scope.get(upstreamSlots(prefix).ignoreHeaders) ?? [],
    purge: scope.get(s.purge) ?? 'off',
    answers: purgeAnswers(scope),
  };
}

/** *_cache_bypass / *_no_cache: true when any value is neither empty nor "0". */
export function predicateHolds(list: readonly Template[], s: RequestSession): boolean {
  for (const t of list) {
    const v = t.evaluate(s);
    if (v !== '' && v !== '0') return true;
  }
  return false;
}
