// nginx's referer module: `valid_referers none | blocked | server_names | host[/uri] | *.host | host.* | ~regex ...`
// (server, location) and the check behind $invalid_referer: no Referer is valid with `none`; one that does not start
// with http:// or https:// (a proxy or firewall blanked it) with `blocked`; otherwise the host (lower case, up to
// '/' or ':') must be listed, exactly or by a leading or trailing wildcard, with the listed URI as a prefix of the
// path, or the text after the scheme must match a listed regex (case-insensitive), or a server name under
// `server_names`. Not the variable's wiring to a request (the proxy's variables).

import type { DirectiveSpec } from '../config/directives.ts';
import { noopDirective } from '../config/helpers.ts';
import { defineSlot, type Scope } from '../config/scope.ts';
import { compileNginxRegex } from './regex.ts';

interface HostRule {
  readonly host: string;
  /** Path prefix the Referer must start with after host[:port]; undefined when any path is fine. */
  readonly uri: string | undefined;
}

export interface RefererRules {
  readonly none: boolean;
  readonly blocked: boolean;
  readonly serverNames: boolean;
  readonly exact: ReadonlyMap<string, string | undefined>;
  /** `*.example.com`: stored as ".example.com", matching hosts that end with it. */
  readonly head: readonly HostRule[];
  /** `example.*`: stored as "example.", matching hosts that start with it. */
  readonly tail: readonly HostRule[];
  readonly regexes: readonly RegExp[];
}

const VALID_REFERERS = defineSlot<RefererRules>('valid_referers');

export const refererDirectives: DirectiveSpec[] = [
  {
    name: 'valid_referers',
    contexts: ['server', 'location'],
    args: [1, Infinity],
    handler(c) {
      let none = false;
      let blocked = false;
      let serverNames = false;
      const exact = new Map<string, string | undefined>();
      const head: HostRule[] = [];
      const tail: HostRule[] = [];
      const regexes: RegExp[] = [];
      for (const a of c.args) {
        if (a === 'none') none = true;
        else if (a === 'blocked') blocked = true;
        else if (a === 'server_names') serverNames = true;
        else if (a.startsWith('~')) {
          try {
            regexes.push(compileNginxRegex(a.slice(1), true).regex);
          } catch (e) {
            c.fail((e as Error).message);
          }
        } else {
          const slash = a.indexOf('/');
          const host = (slash < 0 ? a : a.slice(0, slash)).toLowerCase();
          const uri = slash < 0 || slash === a.length - 1 ? (slash < 0 ? undefined : '/') : a.slice(slash);
          const inner = host.replace(/^\*\./, '').replace(/\.\*$/, '');
          if (host === '' || inner.includes('*')) c.fail(`invalid server name or wildcard "${a}"`);
          if (host.startsWith('*.')) head.push({ host: host.slice(1), uri });
          else if (host.endsWith('.*')) tail.push({ host: host.slice(0, -1), uri });
          else exact.set(host, uri);
        }
      }
      c.scope.set(VALID_REFERERS, { none, blocked, serverNames, exact, head, tail, regexes });
    },
  },
  noopDirective('referer_hash_bucket_size', ['server', 'location'], 1),
  noopDirective('referer_hash_max_size', ['server', 'location'], 1),
];

export function refererRules(scope: Scope): RefererRules | undefined {
  return scope.get(VALID_REFERERS);
}

function uriAllows(uri: string | undefined, rest: string): boolean {
  if (uri === undefined) return true;
  const slash = rest.indexOf('/');
  const path = slash < 0 ? '' : rest.slice(slash);
  return path.startsWith(uri);
}

/** Regex server names compiled once (they were checked at load), not per request. */
const nameRegexes = new Map<string, RegExp>();

function nameRegex(name: string): RegExp {
  let re = nameRegexes.get(name);
  if (re === undefined) {
    re = compileNginxRegex(name.slice(1), true).regex;
    nameRegexes.set(name, re);
  }
  return re;
}

function serverNameMatches(names: readonly string[], host: string): boolean {
  for (const n of names) {
    if (n.startsWith('~')) {
      if (nameRegex(n).test(host)) return true;
    } else if (n.startsWith('*.')) {
      if (host.endsWith(n.slice(1))) return true;
    } else if (n.startsWith('.')) {
      if (host === n.slice(1) || host.endsWith(n)) return true;
    } else if (n.endsWith('.*')) {
      if (host.startsWith(n.slice(0, -1))) return true;
    } else if (n.toLowerCase() === host) return true;
  }
  return false;
}

/** True when the Referer header value is not a valid referer under the rules ($invalid_referer = "1"). */
export function invalidReferer(rules: RefererRules, referer: string | undefined, serverNames: readonly string[]): boolean {
  if (referer === undefined) return !rules.none;
  let rest: string;
  if (referer.length >= 11 && referer.slice(0, 7).toLowerCase() === 'http://') rest = referer.slice(7);
  else if (referer.length >= 12 && referer.slice(0, 8).toLowerCase() === 'https://') rest = referer.slice(8);
  else return !rules.blocked;
  let end = 0;
  while (end < rest.length && rest[end] !== '/' && rest[end] !== ':') end++;
  if (end > 255) return true;
  const host = rest.slice(0, end).toLowerCase();
  const after = rest.slice(end);
  if (rules.exact.has(host)) return !uriAllows(rules.exact.get(host), after);
  for (const r of rules.head) if (host.endsWith(r.host) && host.length > r.host.length) return !uriAllows(r.uri, after);
  for (const r of rules.tail) if (host.startsWith(r.host) && host.length > r.host.length) return !uriAllows(r.uri, after);
  if (rules.serverNames && serverNameMatches(serverNames, host)) return false;
  for (const re of rules.regexes) if (re.test(rest)) return false;
  return true;
}
