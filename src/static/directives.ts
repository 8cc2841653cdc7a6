// Directive table for serving files: root, alias, index, try_files, autoindex, types, default_type, etag,
// if_modified_since, max_ranges, disable_symlinks, open_file_cache and open_file_cache_valid (how long a file held
// in memory is trusted without a stat), and the file-I/O tuning directives nginx configs carry (sendfile,
// tcp_nopush, directio, open_file_cache_min_uses, ...) which Portico accepts as no-ops.

import type { DirectiveSpec } from '../config/directives.ts';
import { enumDirective, flagDirective, noopDirective, numberDirective, templateArg, timeDirective, timeValue } from '../config/helpers.ts';
import { defineSlot, type Context } from '../config/scope.ts';
import type { Template } from '../core/variables.ts';

export interface RootSpec {
  kind: 'root' | 'alias';
  path: Template;
}

export type TryFilesFallback = { kind: 'uri'; uri: Template } | { kind: 'code'; code: number } | { kind: 'named'; name: string };

export interface TryFiles {
  files: Template[];
  fallback: TryFilesFallback;
}

export const ROOT = defineSlot<RootSpec>('root');
export const INDEX = defineSlot<Template[]>('index');
export const TRY_FILES = defineSlot<TryFiles>('try_files', { inherit: false });
export const AUTOINDEX = defineSlot<boolean>('autoindex');
export const AUTOINDEX_FORMAT = defineSlot<'html' | 'json' | 'xml' | 'jsonp'>('autoindex_format');
export const AUTOINDEX_EXACT_SIZE = defineSlot<boolean>('autoindex_exact_size');
export const AUTOINDEX_LOCALTIME = defineSlot<boolean>('autoindex_localtime');
export const TYPES = defineSlot<Map<string, string>>('types');
export const DEFAULT_TYPE = defineSlot<string>('default_type');
export const ETAG = defineSlot<boolean>('etag');
export const IF_MODIFIED_SINCE = defineSlot<'off' | 'exact' | 'before'>('if_modified_since');
export const MAX_RANGES = defineSlot<number>('max_ranges');
export const DISABLE_SYMLINKS = defineSlot<boolean>('disable_symlinks');
export const LOG_NOT_FOUND = defineSlot<boolean>('log_not_found');
/** open_file_cache: off, or on with nginx's max= and inactive= (Portico's memory cache keeps its own bounds). */
export const OPEN_FILE_CACHE = defineSlot<{ max: number; inactiveMs: number } | 'off'>('open_file_cache');
export const OPEN_FILE_CACHE_VALID = defineSlot<number>('open_file_cache_valid');

const HSL: readonly Context[] = ['http', 'server', 'location'];
const HSLI: readonly Context[] = ['http', 'server', 'location', 'location-if'];

export const staticDirectives: DirectiveSpec[] = [
  {
    name: 'root',
    contexts: HSLI,
    args: 1,
    handler(c) {
      if (c.scope.has(ROOT)) c.fail(c.scope.own(ROOT)?.kind === 'alias' ? '"root" directive is duplicate, "alias" directive was specified earlier' : '"root" directive is duplicate');
      c.scope.set(ROOT, { kind: 'root', path: templateArg(c, c.args[0].replace(/\/+$/, '') || '/') });
    },
  },
  {
    name: 'alias',
    contexts: ['location'],
    args: 1,
    handler(c) {
      if (c.scope.has(ROOT)) c.fail(c.scope.own(ROOT)?.kind === 'root' ? '"alias" directive is duplicate, "root" directive was specified earlier' : '"alias" directive is duplicate');
      c.scope.set(ROOT, { kind: 'alias', path: templateArg(c, c.args[0]) });
    },
  },
  {
    name: 'index',
    contexts: HSL,
    args: [1, Infinity],
    multi: true,
    handler(c) {
      const list = c.scope.own(INDEX) ?? [];
      for (const a of c.args) {
        if (a === '') c.fail('index "" in "index" directive is invalid');
        list.push(templateArg(c, a));
      }
      c.scope.set(INDEX, list);
    },
  },
  {
    name: 'try_files',
    contexts: ['server', 'location'],
    args: [2, Infinity],
    handler(c) {
      const files = c.args.slice(0, -1).map((a) => templateArg(c, a));
      const last = c.args[c.args.length - 1];
      let fallback: TryFilesFallback;
      if (/^=\d{3}$/.test(last)) fallback = { kind: 'code', code: Number(last.slice(1)) };
      else if (last.startsWith('@')) fallback = { kind: 'named', name: last };
      else fallback = { kind: 'uri', uri: templateArg(c, last) };
      c.scope.set(TRY_FILES, { files, fallback });
    },
  },
  flagDirective('autoindex', HSL, AUTOINDEX),
  enumDirective('autoindex_format', HSL, ['html', 'json', 'xml', 'jsonp'] as const, AUTOINDEX_FORMAT),
  flagDirective('autoindex_exact_size', HSL, AUTOINDEX_EXACT_SIZE),
  flagDirective('autoindex_localtime', HSL, AUTOINDEX_LOCALTIME),
  {
    name: 'types',
    contexts: HSL,
    args: 0,
    block: 'raw',
    handler(c) {
      const map = new Map<string, string>();
      for (const n of c.node.block ?? []) {
        if (n.block) throw c.fail(`unexpected "{"`);
        for (const ext of n.args) map.set(ext.toLowerCase(), n.name);
      }
      const existing = c.scope.own(TYPES);
      if (existing) for (const [k, v] of map) existing.set(k, v);
      else c.scope.set(TYPES, map);
    },
    multi: true,
  },
  { name: 'default_type', contexts: HSL, args: 1, handler: (c) => c.scope.set(DEFAULT_TYPE, c.args[0]) },
  flagDirective('etag', HSL, ETAG),
  enumDirective('if_modified_since', HSL, ['off', 'exact', 'before'] as const, IF_MODIFIED_SINCE),
  numberDirective('max_ranges', HSL, MAX_RANGES),
  {
    name: 'disable_symlinks',
    contexts: HSL,
    args: [1, 2],
    handler(c) {
      const v = c.args[0];
      if (v !== 'on' && v !== 'off' && v !== 'if_not_owner') c.fail(`invalid value "${v}" in "disable_symlinks" directive`);
      if (c.args[1] !== undefined && !c.args[1].startsWith('from=')) c.fail(`invalid parameter "${c.args[1]}"`);
      c.scope.set(DISABLE_SYMLINKS, v !== 'off');
    },
  },
  flagDirective('log_not_found', HSL, LOG_NOT_FOUND),
  noopDirective('sendfile', [...HSL, 'location-if'], 1),
  noopDirective('sendfile_max_chunk', HSL, 1),
  noopDirective('tcp_nopush', HSL, 1),
  noopDirective('tcp_nodelay', HSL, 1),
  noopDirective('aio', HSL, [1, 1]),
  noopDirective('directio', HSL, 1),
  noopDirective('output_buffers', HSL, 2),
  noopDirective('postpone_output', HSL, 1),
  {
    name: 'open_file_cache',
    contexts: HSL,
    args: [1, 3],
    handler(c) {
      let max = 0;
      let inactiveMs = 60_000;
      let off = false;
      for (const a of c.args) {
        if (a.startsWith('max=') && /^[0-9]+$/.test(a.slice(4)) && Number(a.slice(4)) > 0) max = Number(a.slice(4));
        else if (a.startsWith('inactive=')) inactiveMs = timeValue(c, a.slice(9));
        else if (a === 'off') off = true;
        else c.fail(`invalid "open_file_cache" parameter "${a}"`);
      }
      if (off) return c.scope.set(OPEN_FILE_CACHE, 'off');
      if (max === 0) c.fail('"open_file_cache" must have the "max" parameter');
      c.scope.set(OPEN_FILE_CACHE, { max, inactiveMs });
    },
  },
  timeDirective('open_file_cache_valid', HSL, OPEN_FILE_CACHE_VALID),
  noopDirective('open_file_cache_min_uses', HSL, 1),
  noopDirective('open_file_cache_errors', HSL, 1),
  noopDirective('types_hash_max_size', HSL, 1),
  noopDirective('types_hash_bucket_size', HSL, 1),
  noopDirective('read_ahead', HSL, 1),
];
