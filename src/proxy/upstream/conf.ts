// Configuration slots shared by the three upstream modules (proxy_*, fastcgi_*, uwsgi_*), one set per prefix, as
// nginx's ngx_http_upstream_conf_t is shared by its proxy, fastcgi and uwsgi modules; plus the `upstream {}` group
// definition. Values only: the content handler reads them when the location plan is built.

import { defineSlot, type Origin, type Slot } from '../../config/scope.ts';
import type { Template } from '../../core/variables.ts';
import type { PeerSpec } from '../../balancer/peer.ts';
import type { PolicyName } from '../../balancer/policy.ts';

export type UpstreamPrefix = 'proxy' | 'fastcgi' | 'uwsgi';

/** The failures *_next_upstream and *_cache_use_stale both name (nginx's next_upstream masks). */
export const UPSTREAM_FAILURES = ['error', 'timeout', 'invalid_header', 'http_500', 'http_502', 'http_503', 'http_504', 'http_403', 'http_404', 'http_429'] as const;

export type UpstreamFailure = (typeof UPSTREAM_FAILURES)[number];

export type NextUpstreamCondition = UpstreamFailure | 'non_idempotent' | 'updating';

export const NEXT_UPSTREAM_CONDITIONS: readonly NextUpstreamCondition[] = [...UPSTREAM_FAILURES, 'non_idempotent', 'updating'];

export interface PassSpec {
  target: Template;
  origin: Origin;
}

export interface ParamSpec {
  name: string;
  value: Template;
  ifNotEmpty: boolean;
}

export interface UpstreamSlots {
  pass: Slot<PassSpec>;
  connectTimeout: Slot<number>;
  sendTimeout: Slot<number>;
  readTimeout: Slot<number>;
  bufferSize: Slot<number>;
  buffering: Slot<boolean>;
  requestBuffering: Slot<boolean>;
  passRequestHeaders: Slot<boolean>;
  passRequestBody: Slot<boolean>;
  hideHeaders: Slot<string[]>;
  passHeaders: Slot<string[]>;
  ignoreHeaders: Slot<string[]>;
  interceptErrors: Slot<boolean>;
  ignoreClientAbort: Slot<boolean>;
  nextUpstream: Slot<Set<NextUpstreamCondition> | 'off'>;
  nextUpstreamTries: Slot<number>;
  nextUpstreamTimeout: Slot<number>;
  params: Slot<ParamSpec[]>;
}

const cache = new Map<UpstreamPrefix, UpstreamSlots>();

export function upstreamSlots(prefix: UpstreamPrefix): UpstreamSlots {
  let s = cache.get(prefix);
  if (s) return s;
  s = {
    pass: defineSlot<PassSpec>(`${prefix}_pass`, { inherit: false }),
    connectTimeout: defineSlot<number>(`${prefix}_connect_timeout`),
    sendTimeout: defineSlot<number>(`${prefix}_send_timeout`),
    readTimeout: defineSlot<number>(`${prefix}_read_timeout`),
    bufferSize: defineSlot<number>(`${prefix}_buffer_size`),
    buffering: defineSlot<boolean>(`${prefix}_buffering`),
    requestBuffering: defineSlot<boolean>(`${prefix}_request_buffering`),
    passRequestHeaders: defineSlot<boolean>(`${prefix}_pass_request_headers`),
    passRequestBody: defineSlot<boolean>(`${prefix}_pass_request_body`),
    hideHeaders: defineSlot<string[]>(`${prefix}_hide_header`),
    passHeaders: defineSlot<string[]>(`${prefix}_pass_header`),
    ignoreHeaders: defineSlot<string[]>(`${prefix}_ignore_headers`),
    interceptErrors: defineSlot<boolean>(`${prefix}_intercept_errors`),
    ignoreClientAbort: defineSlot<boolean>(`${prefix}_ignore_client_abort`),
    nextUpstream: defineSlot<Set<NextUpstreamCondition> | 'off'>(`${prefix}_next_upstream`),
    nextUpstreamTries: defineSlot<number>(`${prefix}_next_upstream_tries`),
    nextUpstreamTimeout: defineSlot<number>(`${prefix}_next_upstream_timeout`),
    params: defineSlot<ParamSpec[]>(prefix === 'proxy' ? 'proxy_set_header' : `${prefix}_param`),
  };
  cache.set(prefix, s);
  return s;
}

export interface HealthCheckSpec {
  intervalMs: number;
  fails: number;
  passes: number;
  uri: string;
  status: [number, number];
  timeoutMs: number;
}

export interface GroupSpec {
  name: string;
  servers: PeerSpec[];
  policy: PolicyName;
  hashKey: Template | undefined;
  keepalive: number;
  keepaliveRequests: number;
  keepaliveTimeMs: number;
  keepaliveTimeoutMs: number;
  healthCheck: HealthCheckSpec | undefined;
  origin: Origin;
}

/** Groups defined by `upstream name {}` blocks, on the http scope. */
export const UPSTREAM_GROUPS = defineSlot<Map<string, GroupSpec>>('upstream', { inherit: false });
/** The group being defined, on an `upstream` scope. */
export const GROUP = defineSlot<GroupSpec>('upstream_group', { inherit: false });

export const PROXY_HTTP_VERSION = defineSlot<'1.0' | '1.1'>('proxy_http_version');
export type RedirectRule = { kind: 'default' } | { kind: 'off' } | { kind: 'replace'; from: string | RegExp; to: Template };
export const PROXY_REDIRECT = defineSlot<RedirectRule[]>('proxy_redirect');
export const PROXY_SSL_VERIFY = defineSlot<boolean>('proxy_ssl_verify');
export const PROXY_SSL_SERVER_NAME = defineSlot<boolean>('proxy_ssl_server_name');
export const PROXY_SSL_NAME = defineSlot<Template>('proxy_ssl_name');
export const PROXY_SSL_TRUSTED_CERTIFICATE = defineSlot<string>('proxy_ssl_trusted_certificate');
export const PROXY_SSL_SESSION_REUSE = defineSlot<boolean>('proxy_ssl_session_reuse');
export const FASTCGI_INDEX = defineSlot<Template>('fastcgi_index');
export const FASTCGI_SPLIT_PATH_INFO = defineSlot<RegExp>('fastcgi_split_path_info');
export const FASTCGI_KEEP_CONN = defineSlot<boolean>('fastcgi_keep_conn');
export const FASTCGI_CATCH_STDERR = defineSlot<string>('fastcgi_catch_stderr');
export const UWSGI_MODIFIER1 = defineSlot<number>('uwsgi_modifier1');
export const UWSGI_MODIFIER2 = defineSlot<number>('uwsgi_modifier2');
