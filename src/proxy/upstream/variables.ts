// The upstream engine's variables: $upstream_addr, $upstream_status and the $upstream_*_time lists (one entry per
// try, ", " between them, as nginx prints them), $upstream_http_*, and the proxy module's $proxy_host,
// $proxy_port, $proxy_add_x_forwarded_for.

import type { Session } from '../../core/session.ts';
import { defineVariable, definePrefixVariable } from '../../core/variables.ts';
import type { RequestSession } from '../session.ts';

function list(pick: (u: NonNullable<Session['upstream']>) => string[]): (s: Session) => string {
  return (s) => (s.upstream ? pick(s.upstream).join(', ') : '');
}

defineVariable('upstream_addr', list((u) => u.addr));
defineVariable('upstream_status', list((u) => u.status));
defineVariable('upstream_response_time', list((u) => u.responseTime));
defineVariable('upstream_connect_time', list((u) => u.connectTime));
defineVariable('upstream_header_time', list((u) => u.headerTime));
defineVariable('upstream_bytes_received', (s) => (s.upstream ? String(s.upstream.bytesReceived) : ''));
defineVariable('upstream_cache_status', (s) => s.cacheStatus);
definePrefixVariable('upstream_http_', (name) => {
  const h = name.replace(/_/g, '-').toLowerCase();
  return (s) => {
    for (const [k, v] of s.upstream?.headers ?? []) if (k.toLowerCase() === h) return v;
    return '';
  };
});
defineVariable('proxy_host', (s) => (s as RequestSession).proxyHost);
defineVariable('proxy_port', (s) => {
  const h = (s as RequestSession).proxyHost;
  const m = /:(\d+)$/.exec(h);
  return m ? m[1] : (s as RequestSession).proxyTarget?.scheme === 'https' ? '443' : '80';
});
defineVariable('proxy_add_x_forwarded_for', (s) => {
  const xff = s.req.headers['x-forwarded-for'];
  const prev = Array.isArray(xff) ? xff.join(', ') : xff;
  return prev ? `${prev}, ${s.remoteAddr}` : s.remoteAddr;
});
