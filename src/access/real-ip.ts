// nginx's realip module: set_real_ip_from (trusted proxies), real_ip_header (X-Real-IP, X-Forwarded-For, or any
// header), real_ip_recursive. The client address is replaced only when the connection comes from a trusted
// address; with recursion, X-Forwarded-For is walked from the right past trusted addresses.

import ipaddr from 'ipaddr.js';
import type { DirectiveSpec } from '../config/directives.ts';
import { flagDirective } from '../config/helpers.ts';
import { defineSlot, type Context } from '../config/scope.ts';
import { parseClientAddr } from './check.ts';

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

export const REAL_IP_FROM = defineSlot<Range[]>('set_real_ip_from');
export const REAL_IP_HEADER = defineSlot<string>('real_ip_header');
export const REAL_IP_RECURSIVE = defineSlot<boolean>('real_ip_recursive');

const HSL: readonly Context[] = ['http', 'server', 'location'];

export const realIpDirectives: DirectiveSpec[] = [
  {
    name: 'set_real_ip_from',
    contexts: HSL,
    args: 1,
    multi: true,
    handler(c) {
      const a = c.args[0];
      if (a === 'unix:') return;
      try {
        const r: Range = a.includes('/') ? ipaddr.parseCIDR(a) : [ipaddr.parse(a), ipaddr.parse(a).kind() === 'ipv4' ? 32 : 128];
        c.scope.list(REAL_IP_FROM).push(r);
      } catch {
        c.fail(`invalid parameter "${a}"`);
      }
    },
  },
  {
    name: 'real_ip_header',
    contexts: HSL,
    args: 1,
    handler: (c) => c.scope.set(REAL_IP_HEADER, c.args[0].toLowerCase() === 'x-real-ip' ? 'x-real-ip' : c.args[0].toLowerCase()),
  },
  flagDirective('real_ip_recursive', HSL, REAL_IP_RECURSIVE),
];

function trusted(ranges: readonly Range[], addr: string): boolean {
  const a = parseClientAddr(addr);
  if (!a) return false;
  for (const r of ranges) if (a.kind() === r[0].kind() && a.match(r)) return true;
  return false;
}

export interface RealIpConf {
  from: readonly Range[];
  header: string;
  recursive: boolean;
}

/** The client address to use, or undefined to keep the connection's. */
export function realIp(conf: RealIpConf, remoteAddr: string, headerValue: string | undefined): string | undefined {
  if (!headerValue || conf.from.length === 0 || !trusted(conf.from, remoteAddr)) return undefined;
  if (conf.header !== 'x-forwarded-for') {
    const v = headerValue.trim();
    return parseClientAddr(v) ? v : undefined;
  }
  const parts = headerValue.split(',').map((p) => p.trim()).filter((p) => p !== '');
  for (let i = parts.length - 1; i >= 0; i--) {
    const p = parts[i];
    if (!parseClientAddr(p)) return undefined;
    if (!conf.recursive || !trusted(conf.from, p) || i === 0) return p;
  }
  return undefined;
}
