// Directive tables of the upstream modules: `upstream {}` groups (server, keepalive*, balancing methods,
// health_check), the directives proxy_*, fastcgi_* and uwsgi_* share (generated once per prefix, as nginx's
// modules share ngx_http_upstream_conf_t), and each protocol's own (proxy_set_header, proxy_redirect,
// fastcgi_param, fastcgi_split_path_info, uwsgi_modifier1, ...).

import type { DirectiveCall, DirectiveSpec } from '../../config/directives.ts';
import { newScope } from '../../config/directives.ts';
import { flagDirective, keywordSet, noopDirective, numberDirective, sizeDirective, templateArg, timeDirective, timeValue } from '../../config/helpers.ts';
import type { Context } from '../../config/scope.ts';
import { parseParam } from '../../config/values.ts';
import type { PeerSpec } from '../../balancer/peer.ts';
import type { PolicyName } from '../../balancer/policy.ts';
import { compileNginxRegex } from '../../routing/regex.ts';
import { CONTENT } from '../content.ts';
import {
  FASTCGI_CATCH_STDERR,
  FASTCGI_INDEX,
  FASTCGI_KEEP_CONN,
  FASTCGI_SPLIT_PATH_INFO,
  GROUP,
  NEXT_UPSTREAM_CONDITIONS,
  PROXY_HTTP_VERSION,
  PROXY_REDIRECT,
  PROXY_SSL_NAME,
  PROXY_SSL_SERVER_NAME,
  PROXY_SSL_SESSION_REUSE,
  PROXY_SSL_TRUSTED_CERTIFICATE,
  PROXY_SSL_VERIFY,
  UPSTREAM_GROUPS,
  upstreamSlots,
  UWSGI_MODIFIER1,
  UWSGI_MODIFIER2,
  type GroupSpec,
  type UpstreamPrefix,
} from './conf.ts';
import { upstreamContent } from './content-factory.ts';

const LOC: readonly Context[] = ['location', 'location-if'];
const HSL: readonly Context[] = ['http', 'server', 'location'];

function group(c: DirectiveCall): GroupSpec {
  return c.scope.own(GROUP) as GroupSpec;
}

function setPolicy(c: DirectiveCall, policy: PolicyName): void {
  const g = group(c);
  if (g.policy !== 'round_robin') c.fail('load balancing method redefined');
  g.policy = policy;
}

function parseServer(c: DirectiveCall): PeerSpec {
  const [addr, ...params] = c.args;
  let address = addr;
  if (!addr.startsWith('unix:')) {
    if (addr.includes('://')) c.fail(`invalid host in upstream "${addr}"`);
    const v6 = addr.startsWith('[');
    const hasPort = v6 ? /\]:\d+$/.test(addr) : addr.includes(':');
    if (!hasPort) address = `${addr}:80`;
    const port = Number(address.slice(address.lastIndexOf(':') + 1));
    if (!Number.isInteger(port) || port < 1 || port > 65535) c.fail(`invalid port in upstream "${addr}"`);
    if (address.startsWith('localhost:')) address = '127.0.0.1' + address.slice(9);
  }
  const spec: { -readonly [K in keyof PeerSpec]: PeerSpec[K] } = { address, server: addr };
  for (const p of params) {
    if (p === 'backup') spec.backup = true;
    else if (p === 'down') spec.down = true;
    else if (p === 'resolve') continue;
    else {
      const kv = parseParam(p);
      if (!kv) c.fail(`invalid parameter "${p}"`);
      const [k, v] = kv as [string, string];
      if (k === 'weight' || k === 'max_fails' || k === 'max_conns') {
        const n = Number(v);
        if (!/^\d+$/.test(v) || (k === 'weight' && n < 1)) c.fail(`invalid parameter "${p}"`);
        if (k === 'weight') spec.weight = n;
        else if (k === 'max_fails') spec.maxFails = n;
        else spec.maxConns = n;
      } else if (k === 'fail_timeout') spec.failTimeoutMs = timeValue(c, v);
      else c.fail(`invalid parameter "${p}"`);
    }
  }
  return spec;
}

const upstreamBlock: DirectiveSpec[] = [
  {
    name: 'upstream',
    contexts: ['http'],
    args: 1,
    block: 'upstream',
    multi: true,
    handler(c) {
      const name = c.args[0];
      const groups = c.scope.own(UPSTREAM_GROUPS) ?? new Map<string, GroupSpec>();
      if (groups.has(name)) c.fail(`duplicate upstream "${name}"`);
      const spec: GroupSpec = {
        name,
        servers: [],
        policy: 'round_robin',
        hashKey: undefined,
        keepalive: 0,
        keepaliveRequests: 1000,
        keepaliveTimeMs: 3_600_000,
        keepaliveTimeoutMs: 60_000,
        healthCheck: undefined,
        origin: { file: c.node.file, line: c.node.line },
      };
      groups.set(name, spec);
      c.scope.set(UPSTREAM_GROUPS, groups);
      const s = newScope('upstream', c.scope, c.node);
      s.set(GROUP, spec);
      return s;
    },
  },
  { name: 'server', contexts: ['upstream'], args: [1, Infinity], multi: true, handler: (c) => void group(c).servers.push(parseServer(c)) },
  {
    name: 'keepalive',
    contexts: ['upstream'],
    args: 1,
    handler(c) {
      if (!/^\d+$/.test(c.args[0]) || Number(c.args[0]) < 1) c.fail(`invalid value "${c.args[0]}" in "keepalive" directive`);
      group(c).keepalive = Number(c.args[0]);
    },
  },
  { name: 'keepalive_requests', contexts: ['upstream'], args: 1, handler: (c) => void (group(c).keepaliveRequests = Number(c.args[0])) },
  { name: 'keepalive_time', contexts: ['upstream'], args: 1, handler: (c) => void (group(c).keepaliveTimeMs = timeValue(c, c.args[0])) },
  { name: 'keepalive_timeout', contexts: ['upstream'], args: 1, handler: (c) => void (group(c).keepaliveTimeoutMs = timeValue(c, c.args[0])) },
  { name: 'ip_hash', contexts: ['upstream'], args: 0, handler: (c) => setPolicy(c, 'ip_hash') },
  { name: 'least_conn', contexts: ['upstream'], args: 0, handler: (c) => setPolicy(c, 'least_conn') },
  { name: 'p2c_ewma', contexts: ['upstream'], args: 0, handler: (c) => setPolicy(c, 'p2c_ewma') },
  {
    name: 'hash',
    contexts: ['upstream'],
    args: [1, 2],
    handler(c) {
      if (c.args[1] !== undefined && c.args[1] !== 'consistent') c.fail(`invalid parameter "${c.args[1]}"`);
      setPolicy(c, c.args[1] ? 'hash_consistent' : 'hash');
      group(c).hashKey = templateArg(c, c.args[0]);
    },
  },
  {
    name: 'random',
    contexts: ['upstream'],
    args: [0, 2],
    handler(c) {
      if (c.args.length > 0 && c.args[0] !== 'two') c.fail(`invalid parameter "${c.args[0]}"`);
      if (c.args.length > 1 && c.args[1] !== 'least_conn') c.fail(`invalid parameter "${c.args[1]}"`);
      setPolicy(c, c.args.length > 0 ? 'random_two' : 'random');
    },
  },
  {
    name: 'health_check',
    contexts: ['upstream'],
    args: [0, Infinity],
    handler(c) {
      const hc = { intervalMs: 5000, fails: 1, passes: 1, uri: '/', status: [200, 399] as [number, number], timeoutMs: 2000 };
      for (const p of c.args) {
        const kv = parseParam(p);
        if (!kv) c.fail(`invalid parameter "${p}"`);
        const [k, v] = kv as [string, string];
        if (k === 'interval') hc.intervalMs = timeValue(c, v);
        else if (k === 'timeout') hc.timeoutMs = timeValue(c, v);
        else if (k === 'fails' || k === 'passes') {
          if (!/^\d+$/.test(v) || Number(v) < 1) c.fail(`invalid parameter "${p}"`);
          hc[k] = Number(v);
        } else if (k === 'uri') {
          if (!v.startsWith('/')) c.fail(`invalid parameter "${p}"`);
          hc.uri = v;
        } else if (k === 'status') {
          const m = /^(\d{3})(?:-(\d{3}))?$/.exec(v);
          if (!m) c.fail(`invalid parameter "${p}"`);
          const mm = m as RegExpExecArray;
          hc.status = [Number(mm[1]), Number(mm[2] ?? mm[1])];
        } else c.fail(`invalid parameter "${p}"`);
      }
      group(c).healthCheck = hc;
    },
  },
  noopDirective('zone', ['upstream'], [1, 2]),
];

function nextUpstreamDirective(prefix: UpstreamPrefix): DirectiveSpec {
  const slot = upstreamSlots(prefix).nextUpstream;
  return {
    name: `${prefix}_next_upstream`,
    contexts: HSL,
    args: [1, Infinity],
    handler: (c) => c.scope.set(slot, keywordSet(c, NEXT_UPSTREAM_CONDITIONS)),
  };
}

function headerListDirective(name: string, slot: ReturnType<typeof upstreamSlots>['hideHeaders']): DirectiveSpec {
  return {
    name,
    contexts: HSL,
    args: 1,
    multi: true,
    handler: (c) => void c.scope.list(slot).push(c.args[0].toLowerCase()),
  };
}

function commonDirectives(prefix: UpstreamPrefix): DirectiveSpec[] {
  const s = upstreamSlots(prefix);
  return [
    {
      name: `${prefix}_pass`,
      contexts: prefix === 'proxy' ? [...LOC, 'limit_except'] : LOC,
      args: 1,
      handler(c) {
        const target = c.args[0];
        if (prefix === 'proxy' && !/^(https?:\/\/|\$)/i.test(target)) c.fail(`invalid URL prefix in "${target}"`);
        c.scope.set(s.pass, { target: templateArg(c, target), origin: { file: c.node.file, line: c.node.line } });
        c.scope.set(CONTENT, upstreamContent(prefix));
      },
    },
    timeDirective(`${prefix}_connect_timeout`, HSL, s.connectTimeout),
    timeDirective(`${prefix}_send_timeout`, HSL, s.sendTimeout),
    timeDirective(`${prefix}_read_timeout`, HSL, s.readTimeout),
    sizeDirective(`${prefix}_buffer_size`, HSL, s.bufferSize),
    flagDirective(`${prefix}_buffering`, HSL, s.buffering),
    flagDirective(`${prefix}_request_buffering`, HSL, s.requestBuffering),
    flagDirective(`${prefix}_pass_request_headers`, HSL, s.passRequestHeaders),
    flagDirective(`${prefix}_pass_request_body`, HSL, s.passRequestBody),
    headerListDirective(`${prefix}_hide_header`, s.hideHeaders),
    headerListDirective(`${prefix}_pass_header`, s.passHeaders),
    {
      name: `${prefix}_ignore_headers`,
      contexts: HSL,
      args: [1, Infinity],
      handler(c) {
        const ok = ['x-accel-redirect', 'x-accel-expires', 'x-accel-limit-rate', 'x-accel-buffering', 'x-accel-charset', 'expires', 'cache-control', 'set-cookie', 'vary'];
        for (const a of c.args) if (!ok.includes(a.toLowerCase())) c.fail(`invalid value "${a}"`);
        c.scope.set(s.ignoreHeaders, c.args.map((a) => a.toLowerCase()));
      },
    },
    flagDirective(`${prefix}_intercept_errors`, HSL, s.interceptErrors),
    flagDirective(`${prefix}_ignore_client_abort`, HSL, s.ignoreClientAbort),
    nextUpstreamDirective(prefix),
    numberDirective(`${prefix}_next_upstream_tries`, HSL, s.nextUpstreamTries),
    timeDirective(`${prefix}_next_upstream_timeout`, HSL, s.nextUpstreamTimeout),
    noopDirective(`${prefix}_buffers`, HSL, 2),
    noopDirective(`${prefix}_busy_buffers_size`, HSL, 1),
    noopDirective(`${prefix}_max_temp_file_size`, HSL, 1),
    noopDirective(`${prefix}_temp_file_write_size`, HSL, 1),
    noopDirective(`${prefix}_socket_keepalive`, HSL, 1),
    noopDirective(`${prefix}_force_ranges`, HSL, 1),
  ];
}

function paramDirective(name: string, prefix: UpstreamPrefix): DirectiveSpec {
  const slot = upstreamSlots(prefix).params;
  return {
    name,
    contexts: HSL,
    args: prefix === 'proxy' ? 2 : [2, 3],
    multi: true,
    handler(c) {
      if (c.args[2] !== undefined && c.args[2] !== 'if_not_empty') c.fail(`invalid parameter "${c.args[2]}"`);
      c.scope.list(slot).push({ name: c.args[0], value: templateArg(c, c.args[1]), ifNotEmpty: c.args[2] === 'if_not_empty' });
    },
  };
}

const proxyOwn: DirectiveSpec[] = [
  paramDirective('proxy_set_header', 'proxy'),
  {
    name: 'proxy_http_version',
    contexts: HSL,
    args: 1,
    handler(c) {
      if (c.args[0] !== '1.0' && c.args[0] !== '1.1') c.fail(`invalid value "${c.args[0]}"`);
      c.scope.set(PROXY_HTTP_VERSION, c.args[0] as '1.0' | '1.1');
    },
  },
  {
    name: 'proxy_redirect',
    contexts: HSL,
    args: [1, 2],
    multi: true,
    handler(c) {
      const list = c.scope.list(PROXY_REDIRECT);
      if (c.args.length === 1) {
        if (c.args[0] !== 'default' && c.args[0] !== 'off') c.fail(`invalid parameter "${c.args[0]}"`);
        if (c.args[0] === 'off') {
          list.length = 0;
          list.push({ kind: 'off' });
        } else list.push({ kind: 'default' });
        return;
      }
      const [from, to] = c.args;
      let f: string | RegExp = from;
      if (from.startsWith('~*') || from.startsWith('~')) {
        try {
          f = compileNginxRegex(from.replace(/^~\*?/, ''), from.startsWith('~*')).regex;
        } catch (e) {
          c.fail((e as Error).message);
        }
      }
      list.push({ kind: 'replace', from: f, to: templateArg(c, to) });
    },
  },
  flagDirective('proxy_ssl_verify', HSL, PROXY_SSL_VERIFY),
  flagDirective('proxy_ssl_server_name', HSL, PROXY_SSL_SERVER_NAME),
  { name: 'proxy_ssl_name', contexts: HSL, args: 1, handler: (c) => c.scope.set(PROXY_SSL_NAME, templateArg(c, c.args[0])) },
  { name: 'proxy_ssl_trusted_certificate', contexts: HSL, args: 1, handler: (c) => c.scope.set(PROXY_SSL_TRUSTED_CERTIFICATE, c.args[0]) },
  flagDirective('proxy_ssl_session_reuse', HSL, PROXY_SSL_SESSION_REUSE),
  noopDirective('proxy_ssl_verify_depth', HSL, 1),
  noopDirective('proxy_ssl_protocols', HSL),
  noopDirective('proxy_ssl_ciphers', HSL, 1),
];

const fastcgiOwn: DirectiveSpec[] = [
  paramDirective('fastcgi_param', 'fastcgi'),
  { name: 'fastcgi_index', contexts: HSL, args: 1, handler: (c) => c.scope.set(FASTCGI_INDEX, templateArg(c, c.args[0])) },
  {
    name: 'fastcgi_split_path_info',
    contexts: ['location'],
    args: 1,
    handler(c) {
      try {
        const r = compileNginxRegex(c.args[0], false).regex;
        if (new RegExp(r.source + '|').exec('')!.length < 3) c.fail(`pattern "${c.args[0]}" must have 2 captures`);
        c.scope.set(FASTCGI_SPLIT_PATH_INFO, r);
      } catch (e) {
        c.fail((e as Error).message);
      }
    },
  },
  flagDirective('fastcgi_keep_conn', HSL, FASTCGI_KEEP_CONN),
  { name: 'fastcgi_catch_stderr', contexts: HSL, args: 1, handler: (c) => c.scope.set(FASTCGI_CATCH_STDERR, c.args[0]) },
];

const uwsgiOwn: DirectiveSpec[] = [
  paramDirective('uwsgi_param', 'uwsgi'),
  numberDirective('uwsgi_modifier1', HSL, UWSGI_MODIFIER1),
  numberDirective('uwsgi_modifier2', HSL, UWSGI_MODIFIER2),
];

export const upstreamDirectives: DirectiveSpec[] = [
  ...upstreamBlock,
  ...commonDirectives('proxy'),
  ...commonDirectives('fastcgi'),
  ...commonDirectives('uwsgi'),
  ...proxyOwn,
  ...fastcgiOwn,
  ...uwsgiOwn,
];
