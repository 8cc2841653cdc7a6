// What fastcgi_pass and uwsgi_pass share: the target as configured (an address, an `upstream {}` name, or a
// template with variables), the group it names (an implicit one-peer group for a bare address, as nginx's
// ngx_http_upstream_add), and the response headers hidden by default (nginx's Status and X-Accel-*).
// Not a protocol: each adapter brings its codec.

import type { Scope } from '../../config/scope.ts';
import { ConfigError } from '../../config/errors.ts';
import type { Template } from '../../core/variables.ts';
import type { KeepaliveOptions, Transport } from '../../upstream/types.ts';
import type { BuildContext } from '../content.ts';
import { upstreamSlots } from './conf.ts';
import { groupSpecs, implicitPeer, makeGroup, type GroupRuntime } from './groups.ts';

/** nginx's ngx_http_fastcgi_hide_headers (the uwsgi module hides the same). */
export const CGI_HIDDEN_HEADERS = ['status', 'x-accel-expires', 'x-accel-redirect', 'x-accel-limit-rate', 'x-accel-buffering', 'x-accel-charset'];

export type CgiPrefix = 'fastcgi' | 'uwsgi';

/** The defaults, plus *_hide_header, minus *_pass_header. */
export function hiddenHeaders(scope: Scope, prefix: CgiPrefix): Set<string> {
  const slots = upstreamSlots(prefix);
  const hidden = new Set(CGI_HIDDEN_HEADERS);
  for (const h of scope.get(slots.hideHeaders) ?? []) hidden.add(h);
  for (const h of scope.get(slots.passHeaders) ?? []) hidden.delete(h);
  return hidden;
}

export interface PassTarget {
  /** Set when the target has no variables. */
  constant: string | undefined;
  template: Template;
  origin: { file: string; line: number };
}

export function passTarget(scope: Scope, prefix: CgiPrefix): PassTarget {
  const pass = scope.own(upstreamSlots(prefix).pass) ?? scope.parent?.own(upstreamSlots(prefix).pass);
  if (!pass) throw new ConfigError(`no "${prefix}_pass"`, scope.origin.file, scope.origin.line);
  return { constant: pass.target.constant, template: pass.target, origin: pass.origin };
}

/** The group an address names: an `upstream {}` block by that name, else a one-peer group; shared per runtime. */
export function passGroup<R>(ctx: BuildContext, prefix: CgiPrefix, address: string, transport: (k: KeepaliveOptions) => Transport<R>): GroupRuntime<R> {
  const spec = groupSpecs(ctx).get(address);
  const peer = spec ? undefined : implicitPeer(address);
  const key = `${prefix}:${spec ? 'group:' + address : peer!.address}`;
  return makeGroup<R>(ctx, key, address, spec, peer, undefined, transport, 'connect');
}
