// Evaluates allow/deny rules against a client address: first match wins; no match allows (declines), as in nginx.
// IPv4-mapped IPv6 client addresses are compared as IPv4.

import ipaddr from 'ipaddr.js';
import type { AccessRule } from './directives.ts';

export function parseClientAddr(addr: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  try {
    const a = ipaddr.parse(addr);
    if (a.kind() === 'ipv6' && (a as ipaddr.IPv6).isIPv4MappedAddress()) return (a as ipaddr.IPv6).toIPv4Address();
    return a;
  } catch {
    return undefined;
  }
}

/** The first matching rule's answer; 'none' when no rule matches (nginx's access module then declines). */
export function accessVerdict(rules: readonly AccessRule[], remoteAddr: string): 'allow' | 'deny' | 'none' {
  if (rules.length === 0) return 'none';
  const addr = remoteAddr === '' ? undefined : parseClientAddr(remoteAddr);
  for (const r of rules) {
    if (r.unix) {
      if (addr === undefined) return r.allow ? 'allow' : 'deny';
      continue;
    }
    if (r.range === undefined || (addr && addr.kind() === r.range[0].kind() && addr.match(r.range))) return r.allow ? 'allow' : 'deny';
  }
  return 'none';
}

export function accessAllowed(rules: readonly AccessRule[], remoteAddr: string): boolean {
  return accessVerdict(rules, remoteAddr) !== 'deny';
}
