// Compiles each location (and `if` block) scope into a LocationPlan: every inherited value resolved once at load,
// so the request path reads plain fields. Also the per-server plan (names, location tree, server rewrites).

import type { Scope } from '../config/scope.ts';
import type { Template } from '../core/variables.ts';
import { ACCESS_RULES, type AccessRule } from '../access/directives.ts';
import { authBasicPlan, satisfyOf, type AuthBasicPlan } from '../access/auth-basic.ts';
import { REAL_IP_FROM, REAL_IP_HEADER, REAL_IP_RECURSIVE, type RealIpConf } from '../access/real-ip.ts';
import type { AccessLogTarget } from '../observability/access-log.ts';
import type { ErrorLog } from '../observability/error-log.ts';
import { LocationTree } from '../routing/locations.ts';
import {
  ABSOLUTE_REDIRECT,
  INTERNAL,
  LIMIT_EXCEPT,
  LOCATION_MATCH,
  PORT_IN_REDIRECT,
  REWRITE_OPS,
  SERVER_NAME_IN_REDIRECT,
  SERVER_NAMES,
  type LocationMatch,
  type RewriteOp,
} from '../routing/slots.ts';
import {
  AUTOINDEX,
  AUTOINDEX_EXACT_SIZE,
  AUTOINDEX_FORMAT,
  AUTOINDEX_LOCALTIME,
  DEFAULT_TYPE,
  DISABLE_SYMLINKS,
  OPEN_FILE_CACHE,
  OPEN_FILE_CACHE_VALID,
  ETAG,
  IF_MODIFIED_SINCE,
  INDEX,
  LOG_NOT_FOUND,
  MAX_RANGES,
  ROOT,
  TRY_FILES,
  TYPES,
  type RootSpec,
  type TryFiles,
} from '../static/directives.ts';
import { compileTemplate } from '../core/variables.ts';
import { CONTENT, phaseHookFactories, type BuildContext, type ContentHandler, type PhaseHook } from './content.ts';
import {
  ADD_HEADERS,
  CLIENT_BODY_TIMEOUT,
  CLIENT_MAX_BODY_SIZE,
  ERROR_PAGES,
  EXPIRES,
  LIMIT_RATE,
  LIMIT_RATE_AFTER,
  RECURSIVE_ERROR_PAGES,
  SEND_TIMEOUT,
  SERVER_TOKENS,
  type ErrorPage,
  type Expires,
  type HeaderAdd,
} from './core-directives.ts';
import { gzipPlan, type GzipPlan } from './gzip/directives.ts';
import { charsetPlan, type CharsetPlan } from './charset.ts';
import { refererRules, type RefererRules } from '../routing/referers.ts';

export interface LocationPlan {
  scope: Scope;
  name: string;
  match: LocationMatch | undefined;
  internal: boolean;
  /**
   * limit_except: requests of another method run under the block's plan (nginx switches the whole location
   * configuration): its allow/deny and logs, the location's other settings inherited, the location's proxy_pass /
   * fastcgi_pass / uwsgi_pass unless the block has its own, and, as in nginx, none of the location's rewrite
   * directives or try_files.
   */
  limitExcept: { methods: ReadonlySet<string>; plan: LocationPlan } | undefined;
  rewriteOps: RewriteOp[] | undefined;
  ifPlans: Map<Scope, LocationPlan>;
  content: ContentHandler | undefined;
  hooks: PhaseHook[];
  root: RootSpec;
  index: Template[];
  tryFiles: TryFiles | undefined;
  autoindex: boolean;
  autoindexFormat: 'html' | 'json' | 'xml' | 'jsonp';
  autoindexExactSize: boolean;
  autoindexLocaltime: boolean;
  types: Map<string, string>;
  defaultType: string;
  etag: boolean;
  ifModifiedSince: 'off' | 'exact' | 'before';
  maxRanges: number | undefined;
  disableSymlinks: boolean;
  /** open_file_cache on: how long a file held in memory is served without a stat (open_file_cache_valid); 0 off. */
  openFileValidMs: number;
  logNotFound: boolean;
  errorPages: Map<number, ErrorPage>;
  addHeaders: HeaderAdd[];
  expires: Expires | undefined;
  access: AccessRule[];
  /** auth_basic with a user file; undefined when off or incomplete. */
  authBasic: AuthBasicPlan | undefined;
  satisfy: 'all' | 'any';
  realIp: RealIpConf | undefined;
  accessLogs: AccessLogTarget[];
  errorLog: ErrorLog;
  clientMaxBodySize: number;
  clientBodyTimeout: number;
  sendTimeout: number;
  serverTokens: 'on' | 'off' | 'build';
  absoluteRedirect: boolean;
  portInRedirect: boolean;
  serverNameInRedirect: boolean;
  recursiveErrorPages: boolean;
  limitRate: number;
  limitRateAfter: number;
  /** gzip settings; null when gzip is off. */
  gzip: GzipPlan | null;
  /** The charset filter; undefined when charset is off. */
  charset: CharsetPlan | undefined;
  /** valid_referers, for $invalid_referer. */
  validReferers: RefererRules | undefined;
}

export interface ServerPlan {
  scope: Scope;
  names: string[];
  primaryName: string;
  locations: LocationTree<LocationPlan>;
  rewriteOps: RewriteOp[] | undefined;
  /** The server level's own configuration, used when no location matches. */
  plan: LocationPlan;
  ifPlans: Map<Scope, LocationPlan>;
}

export interface PlanResources {
  build: BuildContext;
  accessLogsFor(scope: Scope): AccessLogTarget[];
  errorLogFor(scope: Scope): ErrorLog;
}

const DEFAULT_ROOT = compileTemplate('html');
const DEFAULT_INDEX = [compileTemplate('index.html')];

function openFileValidMs(scope: Scope): number {
  const cache = scope.get(OPEN_FILE_CACHE);
  if (cache === undefined || cache === 'off') return 0;
  return scope.get(OPEN_FILE_CACHE_VALID) ?? 60_000;
}

function contentFor(scope: Scope, res: PlanResources): ContentHandler | undefined {
  let s: Scope | undefined = scope;
  while (s && (s.context === 'location-if' || s === scope)) {
    const f = s.own(CONTENT);
    if (f) return f.build(s, res.build);
    if (s.context !== 'location-if') break;
    s = s.parent;
  }
  return undefined;
}

export function compileLocation(scope: Scope, res: PlanResources): LocationPlan {
  const match = scope.own(LOCATION_MATCH);
  const pages = new Map<number, ErrorPage>();
  for (const p of scope.get(ERROR_PAGES) ?? []) for (const code of p.codes) if (!pages.has(code)) pages.set(code, p);
  const plan: LocationPlan = {
    scope,
    name: match ? (match.modifier === '@' || !match.modifier ? match.pattern : `${match.modifier} ${match.pattern}`) : '',
    match,
    internal: scope.own(INTERNAL) ?? false,
    limitExcept: undefined,
    rewriteOps: scope.own(REWRITE_OPS),
    ifPlans: new Map(),
    content: contentFor(scope, res),
    hooks: [],
    root: scope.get(ROOT) ?? { kind: 'root', path: DEFAULT_ROOT },
    index: scope.get(INDEX) ?? DEFAULT_INDEX,
    tryFiles: scope.context === 'location-if' ? undefined : scope.own(TRY_FILES),
    autoindex: scope.get(AUTOINDEX) ?? false,
    autoindexFormat: scope.get(AUTOINDEX_FORMAT) ?? 'html',
    autoindexExactSize: scope.get(AUTOINDEX_EXACT_SIZE) ?? true,
    autoindexLocaltime: scope.get(AUTOINDEX_LOCALTIME) ?? false,
    types: scope.get(TYPES) ?? new Map([['html', 'text/html'], ['gif', 'image/gif'], ['jpg', 'image/jpeg']]),
    defaultType: scope.get(DEFAULT_TYPE) ?? 'text/plain',
    etag: scope.get(ETAG) ?? true,
    ifModifiedSince: scope.get(IF_MODIFIED_SINCE) ?? 'exact',
    maxRanges: scope.get(MAX_RANGES),
    disableSymlinks: scope.get(DISABLE_SYMLINKS) ?? false,
    openFileValidMs: openFileValidMs(scope),
    logNotFound: scope.get(LOG_NOT_FOUND) ?? true,
    errorPages: pages,
    addHeaders: scope.get(ADD_HEADERS) ?? [],
    expires: scope.get(EXPIRES),
    access: scope.get(ACCESS_RULES) ?? [],
    authBasic: authBasicPlan(scope, res.build.resolveConfPath),
    satisfy: satisfyOf(scope),
    realIp: scope.get(REAL_IP_FROM)
      ? { from: scope.get(REAL_IP_FROM) ?? [], header: scope.get(REAL_IP_HEADER) ?? 'x-real-ip', recursive: scope.get(REAL_IP_RECURSIVE) ?? false }
      : undefined,
    accessLogs: res.accessLogsFor(scope),
    errorLog: res.errorLogFor(scope),
    clientMaxBodySize: scope.get(CLIENT_MAX_BODY_SIZE) ?? 1024 * 1024,
    clientBodyTimeout: scope.get(CLIENT_BODY_TIMEOUT) ?? 60_000,
    sendTimeout: scope.get(SEND_TIMEOUT) ?? 60_000,
    serverTokens: scope.get(SERVER_TOKENS) ?? 'on',
    absoluteRedirect: scope.get(ABSOLUTE_REDIRECT) ?? true,
    portInRedirect: scope.get(PORT_IN_REDIRECT) ?? true,
    serverNameInRedirect: scope.get(SERVER_NAME_IN_REDIRECT) ?? false,
    recursiveErrorPages: scope.get(RECURSIVE_ERROR_PAGES) ?? false,
    limitRate: scope.get(LIMIT_RATE) ?? 0,
    limitRateAfter: scope.get(LIMIT_RATE_AFTER) ?? 0,
    gzip: gzipPlan(scope),
    charset: charsetPlan(scope),
    validReferers: refererRules(scope),
  };
  for (const f of phaseHookFactories()) {
    const h = f.build(scope, res.build);
    if (h) plan.hooks.push(h);
  }
  for (const op of plan.rewriteOps ?? []) {
    if (op.kind === 'if') plan.ifPlans.set(op.scope, compileLocation(op.scope, res));
  }
  const except = scope.children.find((c) => c.context === 'limit_except');
  if (except) {
    const inner = compileLocation(except, res);
    const methods = except.own(LIMIT_EXCEPT) ?? new Set<string>();
    plan.limitExcept = { methods, plan: { ...inner, name: plan.name, match: plan.match, internal: plan.internal, content: inner.content ?? plan.content } };
  }
  return plan;
}

function addLocations(tree: LocationTree<LocationPlan>, scope: Scope, parent: LocationPlan | undefined, res: PlanResources): void {
  for (const child of scope.children) {
    if (child.context !== 'location') continue;
    const plan = compileLocation(child, res);
    tree.add(plan.match as LocationMatch, plan, parent);
    addLocations(tree, child, plan, res);
  }
}

export function compileServer(scope: Scope, res: PlanResources): ServerPlan {
  const names = scope.own(SERVER_NAMES) ?? [''];
  const locations = new LocationTree<LocationPlan>();
  addLocations(locations, scope, undefined, res);
  const plan = compileLocation(scope, res);
  return {
    scope,
    names,
    primaryName: names.find((n) => !n.startsWith('~')) ?? '',
    locations,
    rewriteOps: scope.own(REWRITE_OPS),
    plan,
    ifPlans: plan.ifPlans,
  };
}
