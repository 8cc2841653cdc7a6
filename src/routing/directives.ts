// Directive table of the routing layer: http, server, listen, server_name, location, internal, redirect
// options, and nginx's rewrite module (rewrite, return, set, if, break). Handlers parse and compile values once;
// matching and execution live elsewhere.

import { isIP } from 'node:net';
import { hostname } from 'node:os';
import type { DirectiveCall, DirectiveSpec } from '../config/directives.ts';
import { newScope } from '../config/directives.ts';
import { flagDirective, noopDirective, numberDirective, templateArg } from '../config/helpers.ts';
import type { Context } from '../config/scope.ts';
import { parseFlag, parseSize } from '../config/values.ts';
import { declareVariable } from '../core/variables.ts';
import { compileNginxRegex } from './regex.ts';
import { refererDirectives } from './referers.ts';
import {
  ABSOLUTE_REDIRECT,
  defaultListen,
  HTTP2,
  HTTP2_MAX_CONCURRENT_STREAMS,
  INTERNAL,
  LIMIT_EXCEPT,
  LISTEN,
  LOCATION_MATCH,
  MERGE_SLASHES,
  PORT_IN_REDIRECT,
  REWRITE_LOG,
  REWRITE_OPS,
  SERVER_NAME_IN_REDIRECT,
  SERVER_NAMES,
  type Condition,
  type ListenSpec,
  type LocationModifier,
  type RewriteFlag,
} from './slots.ts';

const SRV_LOC: readonly Context[] = ['http', 'server', 'location'];
const REWRITE_CTX: readonly Context[] = ['server', 'location', 'server-if', 'location-if'];

const template = templateArg;

/** The methods nginx knows by name in limit_except. */
const LIMIT_EXCEPT_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'MKCOL', 'COPY', 'MOVE', 'OPTIONS', 'PROPFIND', 'PROPPATCH', 'LOCK', 'UNLOCK', 'PATCH'];

function regex(c: DirectiveCall, pattern: string, caseless: boolean) {
  try {
    const r = compileNginxRegex(pattern, caseless);
    for (const n of r.names) declareVariable(n);
    return r;
  } catch (e) {
    return c.fail((e as Error).message);
  }
}

export function parseListen(c: DirectiveCall): ListenSpec {
  const [addr, ...params] = c.args;
  const spec = defaultListen(80, { file: c.node.file, line: c.node.line });
  if (addr.startsWith('unix:')) {
    spec.unix = addr.slice(5);
    spec.port = 0;
    spec.host = '';
  } else {
    let host = '';
    let port = '';
    if (addr.startsWith('[')) {
      const end = addr.indexOf(']');
      if (end < 0) c.fail(`invalid host in "${addr}" of the "listen" directive`);
      host = addr.slice(1, end);
      if (isIP(host) !== 6) c.fail(`invalid IPv6 address in "${addr}" of the "listen" directive`);
      port = end + 1 === addr.length ? '80' : addr[end + 1] === ':' ? addr.slice(end + 2) : addr.slice(end + 1);
    } else if (/^\d+$/.test(addr)) {
      port = addr;
      host = '*';
    } else {
      const colon = addr.lastIndexOf(':');
      if (colon >= 0) {
        host = addr.slice(0, colon);
        port = addr.slice(colon + 1);
      } else {
        host = addr;
        port = '80';
      }
    }
    const p = Number(port);
    if (!/^\d+$/.test(port) || p < 1 || p > 65535) c.fail(`invalid port in "${addr}" of the "listen" directive`);
    spec.port = p;
    spec.host = host === '*' || host === '' ? '0.0.0.0' : host === 'localhost' ? '127.0.0.1' : host;
  }
  for (const param of params) {
    if (param === 'default_server' || param === 'default') spec.defaultServer = true;
    else if (param === 'ssl') spec.ssl = true;
    else if (param === 'http2') spec.http2 = true;
    else if (param === 'reuseport') spec.reuseport = spec.optionsSet = true;
    else if (param === 'bind' || param === 'deferred') spec.optionsSet = true;
    else if (param.startsWith('so_keepalive=')) {
      if (!/^(on|off|\d*[smhd]?:\d*[smhd]?:\d*)$/.test(param.slice(13))) c.fail(`invalid so_keepalive value: "${param.slice(13)}"`);
      spec.optionsSet = true;
    } else if (param.startsWith('fastopen=') || param.startsWith('backlog=')) {
      const [name, value] = [param.slice(0, param.indexOf('=')), param.slice(param.indexOf('=') + 1)];
      if (!/^\d+$/.test(value) || (name === 'backlog' && Number(value) === 0)) c.fail(`invalid ${name} "${param}"`);
      if (name === 'backlog') spec.backlog = Number(value);
      spec.optionsSet = true;
    } else if (param.startsWith('rcvbuf=') || param.startsWith('sndbuf=')) {
      if (parseSize(param.slice(7)) === undefined) c.fail(`invalid ${param.slice(0, 6)} "${param}"`);
      spec.optionsSet = true;
    } else if (param.startsWith('ipv6only=')) {
      const v = parseFlag(param.slice(9));
      if (v === undefined) c.fail(`invalid parameter "${param}"`);
      spec.ipv6only = v as boolean;
      spec.optionsSet = true;
    } else c.fail(`invalid parameter "${param}"`);
  }
  return spec;
}

/** The address as nginx prints it in listen errors: `0.0.0.0:80`, `[::1]:80`, `unix:/path`. */
export function listenAddress(l: ListenSpec): string {
  if (l.unix !== undefined) return `unix:${l.unix}`;
  return l.host.includes(':') ? `[${l.host}]:${l.port}` : `${l.host}:${l.port}`;
}

function parseLocationArgs(c: DirectiveCall): { modifier: LocationModifier; pattern: string } {
  const a = c.args;
  if (a.length === 2) {
    const m = a[0];
    if (m !== '=' && m !== '~' && m !== '~*' && m !== '^~') c.fail(`invalid location modifier "${m}"`);
    return { modifier: m as LocationModifier, pattern: a[1] };
  }
  const p = a[0];
  if (p.startsWith('@')) return { modifier: '@', pattern: p };
  if (p.startsWith('=')) return { modifier: '=', pattern: p.slice(1) };
  if (p.startsWith('^~')) return { modifier: '^~', pattern: p.slice(2) };
  if (p.startsWith('~*')) return { modifier: '~*', pattern: p.slice(2) };
  if (p.startsWith('~')) return { modifier: '~', pattern: p.slice(1) };
  return { modifier: '', pattern: p };
}

function parseCondition(c: DirectiveCall): Condition {
  const a = [...c.args];
  if (!a[0].startsWith('(')) c.fail(`invalid condition "${a[0]}"`);
  let cur = 0;
  if (a[0] === '(') cur = 1;
  else a[0] = a[0].slice(1);
  let last = a.length - 1;
  if (!a[last].endsWith(')')) c.fail(`invalid condition "${a[last]}"`);
  if (a[last] === ')') last--;
  else a[last] = a[last].slice(0, -1);
  const first = a[cur] ?? '';
  if (first.length > 1 && first[0] === '$') {
    if (cur !== last && cur + 2 !== last) c.fail(`invalid condition "${first}"`);
    const value = template(c, first);
    if (cur === last) return { kind: 'var', value };
    const op = a[cur + 1];
    const rhs = a[last];
    if (op === '=' || op === '!=') return { kind: op === '=' ? 'eq' : 'ne', value, operand: template(c, rhs) };
    if (op === '~' || op === '~*' || op === '!~' || op === '!~*') {
      const r = regex(c, rhs, op.endsWith('*'));
      return { kind: 'regex', value, regex: r.regex, names: r.names, negate: op.startsWith('!') };
    }
    c.fail(`unexpected "${op}" in condition`);
  }
  const m = /^(!?)-([fdex])$/.exec(first);
  if (/^!?-.$/.test(first) && cur + 1 !== last) c.fail(`invalid condition "${first}"`);
  if (!m) return c.fail(`invalid condition "${first}"`);
  return { kind: 'file', test: m[2] as 'f' | 'd' | 'e' | 'x', negate: m[1] === '!', value: template(c, a[last]) };
}

export const routingDirectives: DirectiveSpec[] = [
  {
    name: 'http',
    contexts: ['main'],
    args: 0,
    block: 'http',
    handler: (c) => newScope('http', c.scope, c.node),
  },
  {
    name: 'server',
    contexts: ['http'],
    args: 0,
    block: 'server',
    multi: true,
    handler: (c) => newScope('server', c.scope, c.node),
  },
  {
    name: 'listen',
    contexts: ['server'],
    args: [1, Infinity],
    multi: true,
    handler: (c) => {
      const spec = parseListen(c);
      const addr = listenAddress(spec);
      if (c.scope.list(LISTEN).some((l) => listenAddress(l) === addr)) c.fail(`a duplicate listen ${addr}`);
      if (spec.optionsSet) {
        for (const other of c.scope.parent?.children ?? []) {
          if (other !== c.scope && other.own(LISTEN)?.some((l) => l.optionsSet && listenAddress(l) === addr)) c.fail(`duplicate listen options for ${addr}`);
        }
      }
      c.scope.list(LISTEN).push(spec);
    },
  },
  {
    name: 'server_name',
    contexts: ['server'],
    args: [1, Infinity],
    multi: true,
    handler: (c) => {
      const names = c.scope.list(SERVER_NAMES);
      for (const arg of c.args) {
        if ((arg[0] === '*' && (arg.length < 3 || arg[1] !== '.')) || (arg[0] === '.' && arg.length < 2)) c.fail(`server name "${arg}" is invalid`);
        const n = arg.toLowerCase() === '$hostname' ? hostname() : arg;
        if (n.startsWith('~')) {
          if (n.length === 1) c.fail(`empty regex in server name "${n}"`);
          try {
            const r = compileNginxRegex(n.slice(1), true);
            for (const v of r.names) declareVariable(v);
          } catch (e) {
            c.fail((e as Error).message);
          }
        } else if (n.includes('..') || (n.includes('*') && !/^\*\.[^*]+$/.test(n) && !/^[^*]+\.\*$/.test(n))) {
          const first = c.scope.own(LISTEN)?.[0];
          c.fail(`invalid server name or wildcard "${n}" on ${first ? listenAddress(first) : `0.0.0.0:${process.getuid?.() === 0 ? 80 : 8000}`}`);
        }
        names.push(n.startsWith('~') ? n : n.toLowerCase());
      }
    },
  },
  {
    name: 'location',
    contexts: ['server', 'location'],
    args: [1, 2],
    block: 'location',
    multi: true,
    handler: (c) => {
      const { modifier, pattern } = parseLocationArgs(c);
      const parent = c.scope.context === 'location' ? c.scope.own(LOCATION_MATCH) : undefined;
      if (parent) {
        if (parent.modifier === '=') c.fail(`location "${pattern}" cannot be inside the exact location "${parent.pattern}"`);
        if (parent.modifier === '@') c.fail(`location "${pattern}" cannot be inside the named location "${parent.pattern}"`);
        if (modifier === '@') c.fail(`named location "${pattern}" can be on the server level only`);
        if (modifier !== '~' && modifier !== '~*' && !pattern.startsWith(parent.pattern)) {
          c.fail(`location "${pattern}" is outside location "${parent.pattern}"`);
        }
      }
      for (const sib of c.scope.children) {
        const m = sib.own(LOCATION_MATCH);
        if (m && m.pattern === pattern && (m.modifier === modifier || (m.modifier === '^~' && modifier === '') || (m.modifier === '' && modifier === '^~'))) {
          if (modifier !== '~' && modifier !== '~*' && modifier !== '@') c.fail(`duplicate location "${pattern}"`);
        }
      }
      let re: RegExp | undefined;
      if (modifier === '~' || modifier === '~*') re = regex(c, pattern, modifier === '~*').regex;
      const s = newScope('location', c.scope, c.node);
      s.set(LOCATION_MATCH, { modifier, pattern, regex: re });
      return s;
    },
  },
  { name: 'internal', contexts: ['location'], args: 0, handler: (c) => c.scope.set(INTERNAL, true) },
  {
    name: 'limit_except',
    contexts: ['location'],
    args: [1, Infinity],
    block: 'limit_except',
    handler: (c) => {
      const methods = new Set<string>();
      for (const a of c.args) {
        const m = a.toUpperCase();
        if (!LIMIT_EXCEPT_METHODS.includes(m)) c.fail(`invalid method "${a}"`);
        methods.add(m);
        if (m === 'GET') methods.add('HEAD');
      }
      const s = newScope('limit_except', c.scope, c.node);
      s.set(LIMIT_EXCEPT, methods);
      return s;
    },
  },
  flagDirective('absolute_redirect', SRV_LOC, ABSOLUTE_REDIRECT),
  flagDirective('server_name_in_redirect', SRV_LOC, SERVER_NAME_IN_REDIRECT),
  flagDirective('port_in_redirect', SRV_LOC, PORT_IN_REDIRECT),
  flagDirective('merge_slashes', ['http', 'server'], MERGE_SLASHES),
  flagDirective('http2', ['http', 'server'], HTTP2),
  numberDirective('http2_max_concurrent_streams', ['http', 'server'], HTTP2_MAX_CONCURRENT_STREAMS),
  noopDirective('http2_max_requests', ['http', 'server'], 1),
  noopDirective('http2_max_field_size', ['http', 'server'], 1),
  noopDirective('http2_max_header_size', ['http', 'server'], 1),
  noopDirective('http2_recv_buffer_size', ['http'], 1),
  noopDirective('http2_chunk_size', ['http', 'server', 'location'], 1),
  noopDirective('http2_body_preread_size', ['http', 'server'], 1),
  noopDirective('http2_idle_timeout', ['http', 'server'], 1),
  noopDirective('http2_recv_timeout', ['http', 'server'], 1),
  noopDirective('http2_push', ['http', 'server', 'location'], 1),
  noopDirective('http2_push_preload', ['http', 'server', 'location'], 1),
  flagDirective('rewrite_log', ['http', 'server', 'location', 'server-if', 'location-if'], REWRITE_LOG),
  {
    name: 'rewrite',
    contexts: REWRITE_CTX,
    args: [2, 3],
    multi: true,
    handler: (c) => {
      const [pattern, replacement, flagArg] = c.args;
      const flag = (flagArg ?? '') as RewriteFlag;
      if (flagArg !== undefined && !['last', 'break', 'redirect', 'permanent'].includes(flagArg)) c.fail(`invalid parameter "${flagArg}"`);
      const r = regex(c, pattern, false);
      c.scope.list(REWRITE_OPS).push({
        kind: 'rewrite',
        regex: r.regex,
        names: r.names,
        replacement: template(c, replacement),
        flag,
        origin: { file: c.node.file, line: c.node.line },
      });
    },
  },
  {
    name: 'return',
    contexts: REWRITE_CTX,
    args: [1, 2],
    multi: true,
    handler: (c) => {
      const origin = { file: c.node.file, line: c.node.line };
      const [first, second] = c.args;
      if (/^\d+$/.test(first)) {
        const code = Number(first);
        if (code > 999) c.fail(`invalid return code "${first}"`);
        c.scope.list(REWRITE_OPS).push({ kind: 'return', code, text: second === undefined ? undefined : template(c, second), origin });
        return;
      }
      if (second !== undefined) c.fail(`invalid return code "${first}"`);
      if (!/^(https?:\/\/|\$scheme)/.test(first)) c.fail(`invalid return code "${first}"`);
      c.scope.list(REWRITE_OPS).push({ kind: 'return', code: 302, text: template(c, first), origin });
    },
  },
  {
    name: 'set',
    contexts: REWRITE_CTX,
    args: 2,
    multi: true,
    handler: (c) => {
      const [name, value] = c.args;
      if (!name.startsWith('$') || name.length < 2) c.fail(`invalid variable name "${name}"`);
      declareVariable(name.slice(1));
      c.scope.list(REWRITE_OPS).push({ kind: 'set', name: name.slice(1).toLowerCase(), value: template(c, value) });
    },
  },
  { name: 'break', contexts: REWRITE_CTX, args: 0, multi: true, handler: (c) => void c.scope.list(REWRITE_OPS).push({ kind: 'break' }) },
  {
    name: 'if',
    contexts: ['server', 'location'],
    args: [1, Infinity],
    multi: true,
    block: 'location-if',
    handler: (c) => {
      const condition = parseCondition(c);
      const ctx: Context = c.scope.context === 'server' ? 'server-if' : 'location-if';
      const s = newScope(ctx, c.scope, c.node);
      c.scope.list(REWRITE_OPS).push({ kind: 'if', condition, scope: s });
      return s;
    },
  },
  { name: 'uninitialized_variable_warn', contexts: [...REWRITE_CTX, 'http'], args: 1, handler() {} },
  ...refererDirectives,
];
