// The http core's variables ($uri, $args, $host, $http_*, $arg_*, $cookie_*, $status, $request_time, ...) defined
// over the Session. Imported for its side effect before any config is compiled. Upstream and cache variables are
// defined by the upstream and cache phases beside their code.

import { hostname } from 'node:os';
import type { Session } from '../core/session.ts';
import { defineVariable, definePrefixVariable } from '../core/variables.ts';
import type { RequestSession } from './session.ts';
import { basicCredentials } from '../access/htpasswd.ts';
import { invalidReferer } from '../routing/referers.ts';
import { mapPath } from './static-content.ts';


const HOSTNAME = hostname();
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

function tz(d: Date): string {
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const a = Math.abs(off);
  return `${sign}${pad(Math.floor(a / 60))}${pad(a % 60)}`;
}

export function timeLocal(d: Date): string {
  return `${pad(d.getDate())}/${MONTHS[d.getMonth()]}/${d.getFullYear()}:${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${tz(d)}`;
}

function timeIso(d: Date): string {
  const t = tz(d);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}${t.slice(0, 3)}:${t.slice(3)}`;
}

function header(s: Session, name: string): string {
  const v = s.req.headers[name];
  if (v === undefined) return '';
  if (Array.isArray(v)) return name === 'cookie' ? v.join('; ') : v.join(', ');
  return v;
}

export function argValue(args: string, name: string): string {
  if (args === '') return '';
  let pos = 0;
  while (pos <= args.length) {
    let amp = args.indexOf('&', pos);
    if (amp < 0) amp = args.length;
    const eq = args.indexOf('=', pos);
    const keyEnd = eq >= 0 && eq < amp ? eq : amp;
    if (keyEnd - pos === name.length && args.slice(pos, keyEnd).toLowerCase() === name) return keyEnd === amp ? '' : args.slice(keyEnd + 1, amp);
    pos = amp + 1;
  }
  return '';
}

function cookieValue(cookie: string, name: string): string {
  for (const part of cookie.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return '';
}

/** $document_root and $request_filename follow the current location's root/alias and $uri, as in nginx. */
function mappedPath(s: Session): Session {
  if ((s as Partial<RequestSession>).plan !== undefined) mapPath(s as RequestSession, s.uri);
  return s;
}

function requestTime(s: Session): string {
  return ((performance.now() - s.start) / 1000).toFixed(3);
}

export function requestLine(s: Session): string {
  return `${s.req.method} ${s.requestUri} ${s.protocol}`;
}

defineVariable('uri', (s) => s.uri);
defineVariable('document_uri', (s) => s.uri);
defineVariable('request_uri', (s) => s.requestUri);
defineVariable('args', (s) => s.args);
defineVariable('query_string', (s) => s.args);
defineVariable('is_args', (s) => (s.args === '' ? '' : '?'));
defineVariable('host', (s) => s.host);
defineVariable('hostname', () => HOSTNAME);
defineVariable('remote_addr', (s) => s.remoteAddr);
defineVariable('binary_remote_addr', (s) => s.remoteAddr);
defineVariable('remote_port', (s) => s.remotePort);
defineVariable('remote_user', (s) => {
  const h = s.req.headers['authorization'];
  return basicCredentials(Array.isArray(h) ? h[0] : h)?.user ?? '';
});
defineVariable('server_addr', (s) => s.serverAddr);
defineVariable('server_port', (s) => s.serverPort);
defineVariable('server_name', (s) => s.serverName);
defineVariable('scheme', (s) => s.scheme);
defineVariable('https', (s) => (s.scheme === 'https' ? 'on' : ''));
defineVariable('request_method', (s) => s.method);
defineVariable('request', requestLine);
defineVariable('request_length', (s) => String(Number(header(s, 'content-length') || 0)));
defineVariable('content_type', (s) => header(s, 'content-type'));
defineVariable('content_length', (s) => header(s, 'content-length'));
defineVariable('document_root', (s) => mappedPath(s).documentRoot);
defineVariable('realpath_root', (s) => mappedPath(s).documentRoot);
defineVariable('request_filename', (s) => mappedPath(s).requestFilename);
defineVariable('status', (s) => String(s.status).padStart(3, '0'));
defineVariable('body_bytes_sent', (s) => String(s.bodyBytesSent));
defineVariable('bytes_sent', (s) => String(s.bodyBytesSent + s.headerBytesSent));
defineVariable('invalid_referer', (s) => {
  const rs = s as RequestSession;
  const rules = rs.plan?.validReferers;
  if (rules === undefined) return '';
  const h = rs.req.headers['referer'];
  return invalidReferer(rules, Array.isArray(h) ? h[0] : h, rs.server?.names ?? []) ? '1' : '';
});
defineVariable('gzip_ratio', (s) => (s as RequestSession).gzipRatio ?? '');
defineVariable('request_time', requestTime);
defineVariable('msec', () => (Date.now() / 1000).toFixed(3));
defineVariable('time_local', () => timeLocal(new Date()));
defineVariable('time_iso8601', () => timeIso(new Date()));
defineVariable('connection', (s) => String(s.connection));
defineVariable('connection_requests', (s) => String(s.connectionRequests));
defineVariable('server_protocol', (s) => s.protocol);
defineVariable('request_id', (s) => s.id);
defineVariable('pid', () => String(process.pid));
defineVariable('nginx_version', () => '1.22.1');
defineVariable('limit_rate', (s) => String(s.limitRate));
defineVariable('fastcgi_script_name', (s) => s.fastcgiScriptName);
defineVariable('fastcgi_path_info', (s) => s.fastcgiPathInfo);
defineVariable('http_host', (s) => header(s, 'host') || s.host);
definePrefixVariable('http_', (name) => {
  const h = name.replace(/_/g, '-').toLowerCase();
  return (s) => header(s, h);
});
definePrefixVariable('arg_', (name) => {
  const n = name.toLowerCase();
  return (s) => argValue(s.args, n);
});
definePrefixVariable('cookie_', (name) => (s) => cookieValue(header(s, 'cookie'), name));
definePrefixVariable('sent_http_', (name) => {
  const h = name.replace(/_/g, '-').toLowerCase();
  return (s) => {
    const v = s.res.getHeader(h);
    return v === undefined ? '' : Array.isArray(v) ? v.join(', ') : String(v);
  };
});
