// allow / deny: nginx's access module. Rules are checked in order, the first match decides, `all` matches
// everything; a level that defines any rule inherits none. Addresses are parsed with ipaddr.js.

import ipaddr from 'ipaddr.js';
import type { DirectiveSpec } from '../config/directives.ts';
import { defineSlot } from '../config/scope.ts';

export interface AccessRule {
  allow: boolean;
  /** undefined = all */
  range: [ipaddr.IPv4 | ipaddr.IPv6, number] | undefined;
  unix: boolean;
}

export const ACCESS_RULES = defineSlot<AccessRule[]>('access');

function rule(allow: boolean): DirectiveSpec {
  const name = allow ? 'allow' : 'deny';
  return {
    name,
    contexts: ['http', 'server', 'location', 'limit_except'],
    args: 1,
    multi: true,
    handler(c) {
      const a = c.args[0];
      const list = c.scope.list(ACCESS_RULES);
      if (a === 'all') return void list.push({ allow, range: undefined, unix: false });
      if (a === 'unix:') return void list.push({ allow, range: undefined, unix: true });
      try {
        const range = a.includes('/') ? ipaddr.parseCIDR(a) : ([ipaddr.parse(a), ipaddr.parse(a).kind() === 'ipv4' ? 32 : 128] as [ipaddr.IPv4 | ipaddr.IPv6, number]);
        list.push({ allow, range, unix: false });
      } catch {
        c.fail(`invalid parameter "${a}"`);
      }
    },
  };
}

export const accessDirectives: DirectiveSpec[] = [rule(true), rule(false)];
