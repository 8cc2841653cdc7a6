// Directive table of nginx's gzip filter (gzip, gzip_comp_level, gzip_min_length, gzip_types, gzip_buffers) and
// of the core module's gzip_* directives it reads (gzip_http_version, gzip_proxied, gzip_vary, gzip_disable), and
// the compiled per-location settings (GzipPlan). Not the decision or the compression: see decide.ts and filter.ts.

import type { DirectiveCall, DirectiveSpec } from '../../config/directives.ts';
import { enumDirective, flagDirective, typesDirective } from '../../config/helpers.ts';
import { defineSlot, type Context, type Scope } from '../../config/scope.ts';
import { compileNginxRegex } from '../../routing/regex.ts';

export const PROXIED_KEYWORDS = ['expired', 'no-cache', 'no-store', 'private', 'no_last_modified', 'no_etag', 'auth', 'any'] as const;
export type ProxiedKeyword = (typeof PROXIED_KEYWORDS)[number];

export interface GzipPlan {
  /** gzip_comp_level, 1-9. */
  readonly level: number;
  /** gzip_min_length: responses whose Content-Length is below it are sent as they are. */
  readonly minLength: number;
  /** gzip_types in lower case (text/html always among them), or '*' for any type. */
  readonly types: ReadonlySet<string> | '*';
  /** gzip_http_version as 10 or 11: requests of a lower version are not compressed. */
  readonly httpVersion: 10 | 11;
  /** gzip_proxied: 'off', or the keywords that allow compressing for a request with a Via header. */
  readonly proxied: ReadonlySet<ProxiedKeyword> | 'off';
  readonly vary: boolean;
  /** gzip_disable's regular expressions (case-insensitive), tested on User-Agent. */
  readonly disable: readonly RegExp[];
  /** gzip_disable's source patterns, for display. */
  readonly disableSources: readonly string[];
  /** gzip_disable msie6: MSIE 4-6 user agents (6 without SV1) get no compression. */
  readonly disableMsie6: boolean;
}

const GZIP = defineSlot<boolean>('gzip');
const GZIP_COMP_LEVEL = defineSlot<number>('gzip_comp_level');
const GZIP_MIN_LENGTH = defineSlot<number>('gzip_min_length');
const GZIP_TYPES = defineSlot<ReadonlySet<string> | '*'>('gzip_types');
const GZIP_HTTP_VERSION = defineSlot<'1.0' | '1.1'>('gzip_http_version');
const GZIP_PROXIED = defineSlot<ReadonlySet<ProxiedKeyword> | 'off'>('gzip_proxied');
const GZIP_VARY = defineSlot<boolean>('gzip_vary');
const GZIP_DISABLE = defineSlot<{ regexes: RegExp[]; sources: string[] }>('gzip_disable');
const GZIP_DISABLE_MSIE6 = defineSlot<boolean>('gzip_disable_msie6');

const HSL: readonly Context[] = ['http', 'server', 'location'];
const HSLI: readonly Context[] = ['http', 'server', 'location', 'location-if'];

const DEFAULT_TYPES: ReadonlySet<string> = new Set(['text/html']);

/** ngx_parse_size as gzip_min_length and gzip_buffers read it: bytes, k or m (no g). */
function byteSize(c: DirectiveCall, arg: string): number {
  const m = /^(\d+)([kKmM]?)$/.exec(arg);
  if (!m) c.fail(`"${c.node.name}" directive invalid value`);
  return Number(m[1]) * (m[2] === '' ? 1 : m[2].toLowerCase() === 'k' ? 1024 : 1024 * 1024);
}

export const gzipDirectives: DirectiveSpec[] = [
  flagDirective('gzip', HSLI, GZIP),
  {
    name: 'gzip_comp_level',
    contexts: HSL,
    args: 1,
    handler(c) {
      if (!/^\d+$/.test(c.args[0])) c.fail('"gzip_comp_level" directive invalid number');
      const n = Number(c.args[0]);
      if (n < 1 || n > 9) c.fail('value must be between 1 and 9');
      c.scope.set(GZIP_COMP_LEVEL, n);
    },
  },
  { name: 'gzip_min_length', contexts: HSL, args: 1, handler: (c) => c.scope.set(GZIP_MIN_LENGTH, byteSize(c, c.args[0])) },
  typesDirective('gzip_types', HSL, GZIP_TYPES),
  {
    name: 'gzip_buffers',
    contexts: HSL,
    args: 2,
    noop: true,
    handler(c) {
      if (!/^\d+$/.test(c.args[0]) || Number(c.args[0]) === 0) c.fail('"gzip_buffers" directive invalid value');
      byteSize(c, c.args[1]);
    },
  },
  enumDirective('gzip_http_version', HSL, ['1.0', '1.1'], GZIP_HTTP_VERSION),
  {
    name: 'gzip_proxied',
    contexts: HSL,
    args: [1, Infinity],
    multi: true,
    handler(c) {
      const before = c.scope.own(GZIP_PROXIED);
      const set = new Set<ProxiedKeyword | 'off'>(before === 'off' ? ['off'] : (before ?? []));
      for (const a of c.args) {
        const k = a.toLowerCase();
        if (k !== 'off' && !(PROXIED_KEYWORDS as readonly string[]).includes(k)) c.fail(`invalid value "${a}"`);
        set.add(k as ProxiedKeyword | 'off');
      }
      if (set.has('off')) return c.scope.set(GZIP_PROXIED, 'off');
      c.scope.set(GZIP_PROXIED, new Set(PROXIED_KEYWORDS.filter((k) => set.has(k))));
    },
  },
  flagDirective('gzip_vary', HSL, GZIP_VARY),
  {
    name: 'gzip_disable',
    contexts: HSL,
    args: [1, Infinity],
    multi: true,
    handler(c) {
      const before = c.scope.own(GZIP_DISABLE);
      const regexes = [...(before?.regexes ?? [])];
      const sources = [...(before?.sources ?? [])];
      for (const a of c.args) {
        if (a === 'msie6') {
          c.scope.set(GZIP_DISABLE_MSIE6, true);
          continue;
        }
        try {
          regexes.push(compileNginxRegex(a, true).regex);
        } catch (e) {
          c.fail((e as Error).message);
        }
        sources.push(a);
      }
      c.scope.set(GZIP_DISABLE, { regexes, sources });
    },
  },
];

/** The location's gzip settings, or null when gzip is off there. */
export function gzipPlan(scope: Scope): GzipPlan | null {
  if (!(scope.get(GZIP) ?? false)) return null;
  const disable = scope.get(GZIP_DISABLE);
  return {
    level: scope.get(GZIP_COMP_LEVEL) ?? 1,
    minLength: scope.get(GZIP_MIN_LENGTH) ?? 20,
    types: scope.get(GZIP_TYPES) ?? DEFAULT_TYPES,
    httpVersion: scope.get(GZIP_HTTP_VERSION) === '1.0' ? 10 : 11,
    proxied: scope.get(GZIP_PROXIED) ?? 'off',
    vary: scope.get(GZIP_VARY) ?? false,
    disable: disable?.regexes ?? [],
    disableSources: disable?.sources ?? [],
    disableMsie6: scope.get(GZIP_DISABLE_MSIE6) ?? false,
  };
}
