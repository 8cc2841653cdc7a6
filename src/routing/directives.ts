// Directive table of the routing layer: http, server, listen, server_name, location, internal, redirect
// options, and nginx's rewrite module (rewrite, return, set, if, break). Handlers parse and compile values once;
// matching and execution live elsewhere.

import type { DirectiveCall, DirectiveSpec } from '../config/directives.ts';
import { newScope } from '../config/directives.ts';
import { flagDirective, templateArg } from '../config/helpers.ts';
import type { Context } from '../config/scope.ts';
import { parseFlag } from '../config/values.ts';
import { declareVariable } from '../core/variables.ts';
import { compileNginxRegex } from './regex.ts';
import {
  ABSOLUTE_REDIRECT,
  HTTP2,
  INTERNAL,
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
  const spec: ListenSpec = {
    host: '0.0.0.0',
    port: 80,
    unix: undefined,
    ssl: false,
    http2: false,
    defaultServer: false,
    reuseport: false,
    backlog: 511,
    ipv6only: true,
    origin: { file: c.node.file, line: c.node.line },
  };
  if (addr.startsWith('unix:')) {
    spec.unix = addr.slice(5);
    spec.port = 0;
    spec.host = '';
  } else {
    let host = '';
    let port = '';
    if (addr.startsWith('[')) {
      const end = addr.indexOf(']');
      if (end < 0) c.fail(`invalid IPv6 address in "${addr}" of the "listen" directive`);
      host = addr.slice(1, end);
      port = addr.slice(end + 1).replace(/^:/, '') || '80';
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
    else if (param === 'reuseport') spec.reuseport = true;
    else if (param === 'bind' || param === 'deferred' || param.startsWith('so_keepalive=') || param.startsWith('fastopen=')) continue;
    else if (param.startsWith('backlog=')) {
      const n = Number(param.slice(8));
      if (!Number.isInteger(n) || n < 1) c.fail(`invalid backlog "${param.slice(8)}"`);
      spec.backlog = n;
    } else if (param.startsWith('rcvbuf=') || param.startsWith('sndbuf=')) continue;
    else if (param.startsWith('ipv6only=')) {
      const v = parseFlag(param.slice(9));
      if (v === undefined) c.fail(`invalid ipv6only flags "${param.slice(9)}"`);
      spec.ipv6only = v as boolean;
    } else c.fail(`invalid parameter "${param}"`);
  }
  return spec;
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
  if (a.length === 0 || !a[0].startsWith('(') || !a[a.length - 1].endsWith(')')) c.fail('invalid condition');
  a[0] = a[0].slice(1);
  a[a.length - 1] = a[a.length - 1].slice(0, -1);
  const parts = a.filter((x, i) => x !== '' || (i > 0 && i < a.length - 1));
  if (parts.length === 1) return { kind: 'var', value: template(c, parts[0]) };
  if (parts.length === 2) {
    const m = /^(!?)-([fdex])$/.exec(parts[0]);
    if (!m) c.fail(`invalid condition "${parts[0]}"`);
    const mm = m as RegExpExecArray;
    return { kind: 'file', test: mm[2] as 'f' | 'd' | 'e' | 'x', negate: mm[1] === '!', value: template(c, parts[1]) };
  }
  if (parts.length === 3) {
    const [lhs, op, rhs] = parts;
    if (!lhs.startsWith('$')) c.fail(`invalid condition "${lhs}"`);
    const value = template(c, lhs);
    if (op === '=' || op === '!=') return { kind: op === '=' ? 'eq' : 'ne', value, operand: template(c, rhs) };
    if (op === '~' || op === '~*' || op === '!~' || op === '!~*') {
      const r = regex(c, rhs, op.endsWith('*'));
      return { kind: 'regex', value, regex: r.regex, names: r.names, negate: op.startsWith('!') };
    }
    c.fail(`unexpected "${op}" in condition`);
  }
  return c.fail('invalid condition');
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
      c.scope.list(LISTEN).push(parseListen(c));
    },
  },
  {
    name: 'server_name',
    contexts: ['server'],
    args: [1, Infinity],
    multi: true,
    handler: (c) => {
      const names = c.scope.list(SERVER_NAMES);
      for (const n of c.args) {
        if (n.startsWith('~')) {
          try {
            const r = compileNginxRegex(n.slice(1), true);
            for (const v of r.names) declareVariable(v);
          } catch (e) {
            c.fail((e as Error).message);
          }
        } else if (n.includes('*') && !/^\*\.[^*]+$/.test(n) && !/^[^*]+\.\*$/.test(n)) {
          c.fail(`invalid server name or wildcard "${n}" on 0.0.0.0:80`);
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
        if ((modifier === '' || modifier === '^~' || modifier === '=') && (parent.modifier === '' || parent.modifier === '^~') && !pattern.startsWith(parent.pattern)) {
          c.fail(`location "${pattern}" is outside location "${parent.pattern}"`);
        }
      }
      for (const sib of c.scope.children) {
        const m = sib.own(LOCATION_MATCH);
        if (m && m.pattern === pattern && (m.modifier === modifier || (m.modifier === '^~' && modifier === '') || (m.modifier === '' && modifier === '^~'))) {
          if (modifier !== '~' && modifier !== '~*') c.fail(`duplicate location "${pattern}"`);
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
  flagDirective('absolute_redirect', SRV_LOC, ABSOLUTE_REDIRECT),
  flagDirective('server_name_in_redirect', SRV_LOC, SERVER_NAME_IN_REDIRECT),
  flagDirective('port_in_redirect', SRV_LOC, PORT_IN_REDIRECT),
  flagDirective('merge_slashes', ['http', 'server'], MERGE_SLASHES),
  flagDirective('http2', ['http', 'server'], HTTP2),
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
];
