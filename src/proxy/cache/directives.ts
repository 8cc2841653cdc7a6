// Directive table of the response cache and of cache purging: *_cache_path, *_cache, *_cache_key, *_cache_valid,
// *_cache_methods, *_cache_min_uses, *_cache_bypass, *_no_cache, *_cache_use_stale, *_cache_background_update,
// *_cache_lock*, *_cache_revalidate, *_cache_max_range_offset, *_cache_tag_header and *_cache_purge, generated
// once per prefix (proxy, fastcgi, uwsgi) as the upstream directives are; plus the purge module's cache_purge_*.

import ipaddr from 'ipaddr.js';
import type { AccessRule } from '../../access/directives.ts';
import type { CacheValidRule } from '../../cache/freshness.ts';
import { parseLevels } from '../../cache/key.ts';
import { PURGE_RESPONSE_TYPES } from '../../cache/purge-response.ts';
import type { DirectiveCall, DirectiveSpec } from '../../config/directives.ts';
import { enumDirective, flagDirective, keywordSet, numberDirective, sizeDirective, templateArg, timeDirective } from '../../config/helpers.ts';
import type { Context } from '../../config/scope.ts';
import { parseFlag, parseParam, parseSize, parseTime } from '../../config/values.ts';
import { CONTENT } from '../content.ts';
import type { UpstreamPrefix } from '../upstream/conf.ts';
import {
  CACHE_METHODS,
  CACHE_PATHS,
  cacheSlots,
  PURGE_BACKGROUND_QUEUE,
  PURGE_LEGACY_STATUS,
  PURGE_RESPONSE_TYPE,
  STALE_CONDITIONS,
  type CachePathSpec,
  type PurgeSetting,
  type StaleCondition,
} from './conf.ts';
import { purgeContent } from './purge.ts';

const HSL: readonly Context[] = ['http', 'server', 'location'];
const PREFIXES: readonly UpstreamPrefix[] = ['proxy', 'fastcgi', 'uwsgi'];
/** nginx refuses a keys zone smaller than two memory pages. */
const MIN_KEYS_ZONE = 8192;

function cachePathDirective(prefix: UpstreamPrefix): DirectiveSpec {
  const name = `${prefix}_cache_path`;
  return {
    name,
    contexts: ['http'],
    args: [2, Infinity],
    multi: true,
    handler(c) {
      const spec = parseCachePath(c, prefix);
      const paths = c.scope.own(CACHE_PATHS) ?? new Map<string, CachePathSpec>();
      if (paths.has(spec.name)) c.fail(`duplicate zone "${spec.name}"`);
      for (const other of paths.values()) {
        if (other.path.replace(/\/+$/, '') === spec.path.replace(/\/+$/, '')) {
          c.fail(`the same path name "${spec.path}" used in ${other.origin.file}:${other.origin.line} and in ${spec.origin.file}:${spec.origin.line}`);
        }
      }
      paths.set(spec.name, spec);
      c.scope.set(CACHE_PATHS, paths);
    },
  };
}

function parseCachePath(c: DirectiveCall, prefix: UpstreamPrefix): CachePathSpec {
  let zone: { name: string; size: number } | undefined;
  let levels: number[] = [];
  let inactive: number | undefined;
  let maxSize: number | undefined;
  let minFree: number | undefined;
  let useTempPath = true;
  let loaderFiles: number | undefined;
  let managerFiles: number | undefined;
  for (const arg of c.args.slice(1)) {
    const kv = parseParam(arg);
    if (!kv) c.fail(`invalid parameter "${arg}"`);
    const [k, v] = kv as [string, string];
    switch (k) {
      case 'levels':
        try {
          levels = parseLevels(arg);
        } catch (e) {
          c.fail((e as Error).message);
        }
        break;
      case 'use_temp_path': {
        const f = parseFlag(v);
        if (f === undefined) c.fail(`invalid use_temp_path value "${v}", it must be "on" or "off"`);
        useTempPath = f as boolean;
        break;
      }
      case 'keys_zone': {
        const colon = v.lastIndexOf(':');
        const size = colon > 0 ? parseSize(v.slice(colon + 1)) : undefined;
        if (colon <= 0 || size === undefined) c.fail(`invalid keys zone size "${arg}"`);
        if ((size as number) < MIN_KEYS_ZONE) c.fail(`keys zone "${arg}" is too small`);
        zone = { name: v.slice(0, colon), size: size as number };
        break;
      }
      case 'inactive':
        inactive = parseTime(v);
        if (inactive === undefined) c.fail(`invalid inactive value "${arg}"`);
        break;
      case 'max_size':
        maxSize = parseSize(v);
        if (maxSize === undefined) c.fail(`invalid max_size value "${arg}"`);
        break;
      case 'min_free':
        minFree = parseSize(v);
        if (minFree === undefined) c.fail(`invalid min_free value "${arg}"`);
        break;
      case 'loader_files':
      case 'manager_files': {
        if (!/^\d+$/.test(v) || Number(v) < 1) c.fail(`invalid ${k} value "${arg}"`);
        if (k === 'loader_files') loaderFiles = Number(v);
        else managerFiles = Number(v);
        break;
      }
      case 'loader_sleep':
      case 'loader_threshold':
      case 'manager_sleep':
      case 'manager_threshold':
        if (parseTime(v) === undefined) c.fail(`invalid ${k} value "${arg}"`);
        break;
      default:
        c.fail(`invalid parameter "${arg}"`);
    }
  }
  if (!zone) c.fail(`"${c.node.name}" must have "keys_zone" parameter`);
  const z = zone as { name: string; size: number };
  return {
    prefix,
    name: z.name,
    size: z.size,
    path: c.args[0],
    levels,
    inactive,
    maxSize,
    minFree,
    useTempPath,
    loaderFiles,
    managerFiles,
    origin: { file: c.node.file, line: c.node.line },
  };
}

function cacheValidDirective(prefix: UpstreamPrefix): DirectiveSpec {
  const slot = cacheSlots(prefix).valid;
  return {
    name: `${prefix}_cache_valid`,
    contexts: HSL,
    args: [1, Infinity],
    multi: true,
    handler(c) {
      const time = c.args[c.args.length - 1];
      const ms = parseTime(time);
      if (ms === undefined) c.fail(`invalid time value "${time}"`);
      let codes: number[] | 'any' = [];
      for (const a of c.args.slice(0, -1)) {
        if (a === 'any') {
          codes = 'any';
          continue;
        }
        const n = Number(a);
        if (!/^\d{3}$/.test(a) || n < 100 || n > 599) c.fail(`invalid status "${a}"`);
        if (codes !== 'any') codes.push(n);
      }
      const rule: CacheValidRule = { codes, seconds: Math.floor((ms as number) / 1000) };
      c.scope.list(slot).push(rule);
    },
  };
}

function predicateDirective(name: string, slot: ReturnType<typeof cacheSlots>['bypass']): DirectiveSpec {
  return {
    name,
    contexts: HSL,
    args: [1, Infinity],
    multi: true,
    handler(c) {
      const list = c.scope.list(slot);
      for (const a of c.args) list.push(templateArg(c, a));
    },
  };
}

function parseCidr(c: DirectiveCall, arg: string): AccessRule {
  try {
    const range: [ipaddr.IPv4 | ipaddr.IPv6, number] = arg.includes('/')
      ? ipaddr.parseCIDR(arg)
      : [ipaddr.parse(arg), ipaddr.parse(arg).kind() === 'ipv4' ? 32 : 128];
    return { allow: true, range, unix: false };
  } catch {
    return c.fail(`invalid parameter "${arg}"`);
  }
}

/** Same-location form: on|off|METHOD [purge_all] [from all|CIDR ...]. */
function parsePurgeSetting(c: DirectiveCall): PurgeSetting {
  const a = c.args;
  if (a[0] === 'off') {
    if (a.length > 1) c.fail(`invalid parameter "${a[1]}"`);
    return 'off';
  }
  const method = a[0] === 'on' ? 'PURGE' : a[0];
  if (!/^[A-Za-z_-]+$/.test(method)) c.fail(`invalid method "${method}"`);
  let i = 1;
  let all = false;
  if (a[i] === 'purge_all') {
    all = true;
    i++;
  }
  if (i >= a.length) return { method, all, access: undefined };
  if (a[i] !== 'from') c.fail(`invalid parameter "${a[i]}", expected "from" keyword`);
  i++;
  if (i >= a.length) c.fail(`invalid number of arguments in "${c.node.name}" directive`);
  if (a[i] === 'all') {
    if (i + 1 < a.length) c.fail(`invalid parameter "${a[i + 1]}"`);
    return { method, all, access: undefined };
  }
  const access: AccessRule[] = [];
  for (; i < a.length; i++) access.push(parseCidr(c, a[i]));
  access.push({ allow: false, range: undefined, unix: false });
  return { method, all, access };
}

function cachePurgeDirective(prefix: UpstreamPrefix): DirectiveSpec {
  const s = cacheSlots(prefix);
  const name = `${prefix}_cache_purge`;
  return {
    name,
    contexts: HSL,
    args: [1, Infinity],
    handler(c) {
      const a = c.args;
      const separate = a.length === 2 && a[0] !== 'on' && a[0] !== 'off' && a[1] !== 'purge_all' && a[1] !== 'from';
      if (!separate) return c.scope.set(s.purge, parsePurgeSetting(c));
      if (c.scope.context !== 'location') c.fail(`"${name} zone key" is only allowed in a location`);
      c.scope.set(s.purgeLocation, { zone: a[0], key: templateArg(c, a[1]), origin: { file: c.node.file, line: c.node.line } });
      c.scope.set(CONTENT, purgeContent(prefix));
    },
  };
}

function prefixDirectives(prefix: UpstreamPrefix): DirectiveSpec[] {
  const s = cacheSlots(prefix);
  return [
    cachePathDirective(prefix),
    {
      name: `${prefix}_cache`,
      contexts: HSL,
      args: 1,
      handler(c) {
        const v = c.args[0];
        if (v === 'off') return c.scope.set(s.cache, 'off');
        if (v.includes('$')) c.fail(`variables in "${prefix}_cache" are not supported, name a zone`);
        c.scope.set(s.cache, { zone: v, origin: { file: c.node.file, line: c.node.line } });
      },
    },
    { name: `${prefix}_cache_key`, contexts: HSL, args: 1, handler: (c) => c.scope.set(s.key, templateArg(c, c.args[0])) },
    cacheValidDirective(prefix),
    {
      name: `${prefix}_cache_methods`,
      contexts: HSL,
      args: [1, Infinity],
      handler(c) {
        const set = new Set<string>(['GET', 'HEAD']);
        for (const m of c.args) {
          if (!(CACHE_METHODS as readonly string[]).includes(m)) c.fail(`invalid value "${m}"`);
          set.add(m);
        }
        c.scope.set(s.methods, set);
      },
    },
    numberDirective(`${prefix}_cache_min_uses`, HSL, s.minUses),
    predicateDirective(`${prefix}_cache_bypass`, s.bypass),
    predicateDirective(`${prefix}_no_cache`, s.noCache),
    {
      name: `${prefix}_cache_use_stale`,
      contexts: HSL,
      args: [1, Infinity],
      handler(c) {
        const set = keywordSet(c, STALE_CONDITIONS);
        c.scope.set(s.useStale, set === 'off' ? new Set<StaleCondition>() : set);
      },
    },
    flagDirective(`${prefix}_cache_background_update`, HSL, s.backgroundUpdate),
    flagDirective(`${prefix}_cache_lock`, HSL, s.lock),
    timeDirective(`${prefix}_cache_lock_timeout`, HSL, s.lockTimeout),
    timeDirective(`${prefix}_cache_lock_age`, HSL, s.lockAge),
    flagDirective(`${prefix}_cache_revalidate`, HSL, s.revalidate),
    sizeDirective(`${prefix}_cache_max_range_offset`, HSL, s.maxRangeOffset),
    {
      name: `${prefix}_cache_tag_header`,
      contexts: HSL,
      args: [1, Infinity],
      handler(c) {
        for (const a of c.args) if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(a)) c.fail(`invalid header name "${a}"`);
        c.scope.set(s.tagHeaders, c.args.map((a) => a.toLowerCase()));
      },
    },
    cachePurgeDirective(prefix),
  ];
}

export const cacheDirectives: DirectiveSpec[] = [
  ...PREFIXES.flatMap(prefixDirectives),
  enumDirective('cache_purge_response_type', HSL, PURGE_RESPONSE_TYPES, PURGE_RESPONSE_TYPE),
  flagDirective('cache_purge_legacy_status', HSL, PURGE_LEGACY_STATUS),
  flagDirective('cache_purge_background_queue', HSL, PURGE_BACKGROUND_QUEUE),
];
