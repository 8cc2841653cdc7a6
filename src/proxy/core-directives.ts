// Directive table of nginx's http core that the phase engine itself applies: client limits and timeouts,
// keep-alive, error_page, add_header, expires, server_tokens, limit_rate, and the hash-sizing and temp-path
// directives real configs carry (accepted as no-ops, listed in docs/directives.md).

import type { DirectiveSpec } from '../config/directives.ts';
import { flagDirective, noopDirective, numberDirective, sizeDirective, sizeValue, templateArg, timeDirective, timeValue } from '../config/helpers.ts';
import { defineSlot, type Context } from '../config/scope.ts';
import type { Template } from '../core/variables.ts';

export interface HeaderAdd {
  name: string;
  value: Template;
  always: boolean;
}

export interface ErrorPage {
  codes: number[];
  /** undefined: keep the original code; 0: `=` (use the redirected response's code); otherwise that code. */
  override: number | undefined;
  target: Template;
}

export type Expires = { kind: 'off' } | { kind: 'max' } | { kind: 'epoch' } | { kind: 'relative'; ms: number; modified: boolean } | { kind: 'daily'; ms: number };

export const CLIENT_MAX_BODY_SIZE = defineSlot<number>('client_max_body_size');
export const CLIENT_BODY_BUFFER_SIZE = defineSlot<number>('client_body_buffer_size');
export const CLIENT_HEADER_BUFFER_SIZE = defineSlot<number>('client_header_buffer_size');
export const LARGE_CLIENT_HEADER_BUFFERS = defineSlot<{ count: number; size: number }>('large_client_header_buffers');
export const CLIENT_HEADER_TIMEOUT = defineSlot<number>('client_header_timeout');
export const CLIENT_BODY_TIMEOUT = defineSlot<number>('client_body_timeout');
export const SEND_TIMEOUT = defineSlot<number>('send_timeout');
export const KEEPALIVE_TIMEOUT = defineSlot<{ ms: number; header: number | undefined }>('keepalive_timeout');
export const KEEPALIVE_REQUESTS = defineSlot<number>('keepalive_requests');
export const KEEPALIVE_TIME = defineSlot<number>('keepalive_time');
export const SERVER_TOKENS = defineSlot<'on' | 'off' | 'build'>('server_tokens');
export const ERROR_PAGES = defineSlot<ErrorPage[]>('error_page');
export const ADD_HEADERS = defineSlot<HeaderAdd[]>('add_header');
export const EXPIRES = defineSlot<Expires>('expires');
export const LIMIT_RATE = defineSlot<number>('limit_rate');
export const LIMIT_RATE_AFTER = defineSlot<number>('limit_rate_after');
export const RECURSIVE_ERROR_PAGES = defineSlot<boolean>('recursive_error_pages');
export const CHUNKED_TRANSFER_ENCODING = defineSlot<boolean>('chunked_transfer_encoding');
export const UNDERSCORES_IN_HEADERS = defineSlot<boolean>('underscores_in_headers');
export const IGNORE_INVALID_HEADERS = defineSlot<boolean>('ignore_invalid_headers');

const HSL: readonly Context[] = ['http', 'server', 'location'];
const HSLI: readonly Context[] = ['http', 'server', 'location', 'location-if'];
const HS: readonly Context[] = ['http', 'server'];

export const coreDirectives: DirectiveSpec[] = [
  sizeDirective('client_max_body_size', HSL, CLIENT_MAX_BODY_SIZE),
  sizeDirective('client_body_buffer_size', HSL, CLIENT_BODY_BUFFER_SIZE),
  sizeDirective('client_header_buffer_size', HS, CLIENT_HEADER_BUFFER_SIZE),
  {
    name: 'large_client_header_buffers',
    contexts: HS,
    args: 2,
    handler(c) {
      if (!/^\d+$/.test(c.args[0]) || Number(c.args[0]) < 1) c.fail(`invalid value "${c.args[0]}"`);
      c.scope.set(LARGE_CLIENT_HEADER_BUFFERS, { count: Number(c.args[0]), size: sizeValue(c, c.args[1]) });
    },
  },
  timeDirective('client_header_timeout', HS, CLIENT_HEADER_TIMEOUT),
  timeDirective('client_body_timeout', HSL, CLIENT_BODY_TIMEOUT),
  timeDirective('send_timeout', HSL, SEND_TIMEOUT),
  {
    name: 'keepalive_timeout',
    contexts: HSL,
    args: [1, 2],
    handler(c) {
      const header = c.args[1] === undefined ? undefined : Math.floor(timeValue(c, c.args[1]) / 1000);
      c.scope.set(KEEPALIVE_TIMEOUT, { ms: timeValue(c, c.args[0]), header });
    },
  },
  numberDirective('keepalive_requests', HSL, KEEPALIVE_REQUESTS),
  timeDirective('keepalive_time', HSL, KEEPALIVE_TIME),
  {
    name: 'server_tokens',
    contexts: HSL,
    args: 1,
    handler(c) {
      const v = c.args[0];
      if (v !== 'on' && v !== 'off' && v !== 'build') c.fail(`invalid value "${v}"`);
      c.scope.set(SERVER_TOKENS, v as 'on' | 'off' | 'build');
    },
  },
  {
    name: 'error_page',
    contexts: HSLI,
    args: [2, Infinity],
    multi: true,
    handler(c) {
      const args = [...c.args];
      const target = args.pop() as string;
      let override: number | undefined;
      const last = args[args.length - 1];
      if (last.startsWith('=')) {
        args.pop();
        if (last === '=') override = 0;
        else {
          if (!/^=\d{3}$/.test(last)) c.fail(`invalid value "${last}"`);
          override = Number(last.slice(1));
        }
      }
      if (args.length === 0) c.fail('invalid number of arguments in "error_page" directive');
      const codes = args.map((a) => {
        const n = Number(a);
        if (!/^\d+$/.test(a) || n === 499) c.fail(`invalid value "${a}"`);
        if (n < 300 || n > 599) c.fail(`value "${a}" must be between 300 and 599`);
        return n;
      });
      c.scope.list(ERROR_PAGES).push({ codes, override, target: templateArg(c, target) });
    },
  },
  {
    name: 'add_header',
    contexts: HSLI,
    args: [2, 3],
    multi: true,
    handler(c) {
      if (c.args[2] !== undefined && c.args[2] !== 'always') c.fail(`invalid parameter "${c.args[2]}"`);
      c.scope.list(ADD_HEADERS).push({ name: c.args[0], value: templateArg(c, c.args[1]), always: c.args[2] === 'always' });
    },
  },
  {
    name: 'expires',
    contexts: HSLI,
    args: [1, 2],
    handler(c) {
      let [a, b] = c.args;
      let modified = false;
      if (b !== undefined) {
        if (a !== 'modified') c.fail(`invalid value "${a}"`);
        modified = true;
        a = b;
      }
      if (a === 'off') return c.scope.set(EXPIRES, { kind: 'off' });
      if (a === 'max') return c.scope.set(EXPIRES, { kind: 'max' });
      if (a === 'epoch') return c.scope.set(EXPIRES, { kind: 'epoch' });
      if (a.startsWith('@')) return c.scope.set(EXPIRES, { kind: 'daily', ms: timeValue(c, a.slice(1)) });
      const neg = a.startsWith('-');
      const ms = timeValue(c, neg ? a.slice(1) : a.replace(/^\+/, ''));
      c.scope.set(EXPIRES, { kind: 'relative', ms: neg ? -ms : ms, modified });
    },
  },
  sizeDirective('limit_rate', [...HSLI], LIMIT_RATE),
  sizeDirective('limit_rate_after', [...HSLI], LIMIT_RATE_AFTER),
  flagDirective('recursive_error_pages', HSL, RECURSIVE_ERROR_PAGES),
  flagDirective('chunked_transfer_encoding', HSL, CHUNKED_TRANSFER_ENCODING),
  flagDirective('underscores_in_headers', HS, UNDERSCORES_IN_HEADERS),
  flagDirective('ignore_invalid_headers', HS, IGNORE_INVALID_HEADERS),
  noopDirective('reset_timedout_connection', HSL, 1),
  noopDirective('lingering_close', HSL, 1),
  noopDirective('lingering_time', HSL, 1),
  noopDirective('lingering_timeout', HSL, 1),
  noopDirective('server_names_hash_max_size', ['http'], 1),
  noopDirective('server_names_hash_bucket_size', ['http'], 1),
  noopDirective('variables_hash_max_size', ['http'], 1),
  noopDirective('variables_hash_bucket_size', ['http'], 1),
  noopDirective('map_hash_max_size', ['http'], 1),
  noopDirective('map_hash_bucket_size', ['http'], 1),
  noopDirective('client_body_temp_path', HSL, [1, 4]),
  noopDirective('proxy_temp_path', HSL, [1, 4]),
  noopDirective('fastcgi_temp_path', HSL, [1, 4]),
  noopDirective('uwsgi_temp_path', HSL, [1, 4]),
  noopDirective('scgi_temp_path', HSL, [1, 4]),
  noopDirective('client_body_in_file_only', HSL, 1),
  noopDirective('client_body_in_single_buffer', HSL, 1),
  noopDirective('msie_padding', HSL, 1),
  noopDirective('msie_refresh', HSL, 1),
  noopDirective('resolver', HSL),
  noopDirective('resolver_timeout', HSL, 1),
];
