// Configuration slots and value types of the routing layer: listeners, server names, locations, and the
// rewrite module's ordered operations. Values only; matching lives in server-names.ts and locations.ts.

import { defineSlot, type Origin, type Scope } from '../config/scope.ts';
import type { Template } from '../core/variables.ts';

export interface ListenSpec {
  host: string;
  port: number;
  unix: string | undefined;
  ssl: boolean;
  http2: boolean;
  defaultServer: boolean;
  reuseport: boolean;
  backlog: number;
  ipv6only: boolean;
  /** A socket option (backlog, reuseport, bind, ...) was given; only one server may set them per address. */
  optionsSet?: boolean;
  origin: Origin;
}

/** A listener on every address with no options set, as nginx's defaults give it. */
export function defaultListen(port: number, origin: Origin): ListenSpec {
  return {
    host: '0.0.0.0',
    port,
    unix: undefined,
    ssl: false,
    http2: false,
    defaultServer: false,
    reuseport: false,
    backlog: 511,
    ipv6only: true,
    optionsSet: false,
    origin,
  };
}

export type LocationModifier = '=' | '^~' | '~' | '~*' | '' | '@';

export interface LocationMatch {
  modifier: LocationModifier;
  pattern: string;
  regex: RegExp | undefined;
}

export type Condition =
  | { kind: 'var'; value: Template }
  | { kind: 'eq' | 'ne'; value: Template; operand: Template }
  | { kind: 'regex'; value: Template; regex: RegExp; negate: boolean; names: string[] }
  | { kind: 'file'; test: 'f' | 'd' | 'e' | 'x'; negate: boolean; value: Template };

export type RewriteFlag = 'last' | 'break' | 'redirect' | 'permanent' | '';

export type RewriteOp =
  | { kind: 'rewrite'; regex: RegExp; names: string[]; replacement: Template; flag: RewriteFlag; origin: Origin }
  | { kind: 'return'; code: number; text: Template | undefined; origin: Origin }
  | { kind: 'set'; name: string; value: Template }
  | { kind: 'if'; condition: Condition; scope: Scope }
  | { kind: 'break' };

export const LISTEN = defineSlot<ListenSpec[]>('listen', { inherit: false });
export const SERVER_NAMES = defineSlot<string[]>('server_name', { inherit: false });
export const LOCATION_MATCH = defineSlot<LocationMatch>('location', { inherit: false });
export const REWRITE_OPS = defineSlot<RewriteOp[]>('rewrite_ops', { inherit: false });
export const INTERNAL = defineSlot<boolean>('internal', { inherit: false });
/** The methods a `limit_except` block lets through with the location's own settings (GET brings HEAD). */
export const LIMIT_EXCEPT = defineSlot<ReadonlySet<string>>('limit_except', { inherit: false });
export const HTTP2 = defineSlot<boolean>('http2');
/** http2_max_concurrent_streams: the SETTINGS_MAX_CONCURRENT_STREAMS a listener announces (its default server's). */
export const HTTP2_MAX_CONCURRENT_STREAMS = defineSlot<number>('http2_max_concurrent_streams');
export const ABSOLUTE_REDIRECT = defineSlot<boolean>('absolute_redirect');
export const SERVER_NAME_IN_REDIRECT = defineSlot<boolean>('server_name_in_redirect');
export const PORT_IN_REDIRECT = defineSlot<boolean>('port_in_redirect');
export const MERGE_SLASHES = defineSlot<boolean>('merge_slashes');
export const REWRITE_LOG = defineSlot<boolean>('rewrite_log');
