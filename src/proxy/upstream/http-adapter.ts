// The HTTP reverse proxy's part of the upstream engine (nginx's ngx_http_proxy_module): the request target by
// nginx's URI replacement rules, the header list (proxy_set_header over the client's headers, Host $proxy_host,
// Connection close unless the group keeps connections alive), body framing, and proxy_redirect on responses.

import { readFileSync } from 'node:fs';
import type { Scope } from '../../config/scope.ts';
import { ConfigError } from '../../config/errors.ts';
import { compileTemplate, type Template } from '../../core/variables.ts';
import type { HttpRequest, HttpTransport, RequestBody, UpstreamTls } from '../../upstream/types.ts';
import { createHttpTransport } from '../../upstream/http-transport.ts';
import type { BuildContext } from '../content.ts';
import type { RequestSession } from '../session.ts';
import {
  PROXY_HTTP_VERSION,
  PROXY_REDIRECT,
  PROXY_SSL_NAME,
  PROXY_SSL_SERVER_NAME,
  PROXY_SSL_SESSION_REUSE,
  PROXY_SSL_TRUSTED_CERTIFICATE,
  PROXY_SSL_VERIFY,
  upstreamSlots,
  type ParamSpec,
  type RedirectRule,
} from './conf.ts';
import type { ProtocolAdapter } from './engine.ts';
import { groupSpecs, implicitPeer, makeGroup, type GroupRuntime } from './groups.ts';
import { LOCATION_MATCH } from '../../routing/slots.ts';
import { absoluteLocation } from '../rewrite.ts';

const DROP = new Set(['connection', 'keep-alive', 'te', 'transfer-encoding', 'content-length', 'proxy-connection', 'expect', 'upgrade', 'http2-settings', 'host']);
const HIDDEN = new Set(['date', 'server', 'x-pad', 'x-accel-expires', 'x-accel-redirect', 'x-accel-limit-rate', 'x-accel-buffering', 'x-accel-charset']);

export interface ParsedProxyUrl {
  scheme: 'http' | 'https';
  host: string;
  port: number | undefined;
  uri: string | undefined;
}

function readTrusted(path: string, scope: Scope): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new ConfigError(`cannot load "proxy_ssl_trusted_certificate" "${path}": ${(e as Error).message}`, scope.origin.file, scope.origin.line);
  }
}

export function parseProxyUrl(url: string): ParsedProxyUrl | undefined {
  const m = /^(https?):\/\/([^/?#]+)(\/[^#]*)?$/i.exec(url);
  if (!m) return undefined;
  const scheme = m[1].toLowerCase() as 'http' | 'https';
  const hostport = m[2];
  let host = hostport;
  let port: number | undefined;
  const pm = /^(.*):(\d+)$/.exec(hostport);
  if (pm && !hostport.endsWith(']')) {
    host = pm[1];
    port = Number(pm[2]);
  }
  if (hostport.startsWith('unix:')) return { scheme, host: hostport, port: undefined, uri: m[3] };
  return { scheme, host, port, uri: m[3] };
}

const URI_SAFE = /[^A-Za-z0-9\-._~!$&'()*+,;=:@/%]/g;

export function escapeUri(uri: string): string {
  return uri.replace(URI_SAFE, (c) =>
    Array.from(Buffer.from(c, 'utf8'))
      .map((b) => '%' + b.toString(16).toUpperCase().padStart(2, '0'))
      .join(''),
  );
}

interface ProxyLocationConf {
  url: ParsedProxyUrl | undefined;
  dynamic: Template | undefined;
  version: '1.0' | '1.1' | undefined;
  params: ParamSpec[];
  setNames: Set<string>;
  passHeaders: boolean;
  locationPrefix: string | undefined;
  redirects: RedirectRule[];
  tls: UpstreamTls | undefined;
}

const DEFAULT_HOST = compileTemplate('$proxy_host');
const CONNECTION_CLOSE = compileTemplate('close');

export function proxyAdapter(scope: Scope, ctx: BuildContext): { adapter: ProtocolAdapter<HttpRequest>; resolve(s: RequestSession): GroupRuntime<HttpRequest> | undefined } {
  const slots = upstreamSlots('proxy');
  const pass = scope.own(slots.pass) ?? scope.parent?.own(slots.pass);
  if (!pass) throw new ConfigError('no "proxy_pass"', scope.origin.file, scope.origin.line);
  const match = scope.own(LOCATION_MATCH) ?? scope.parent?.own(LOCATION_MATCH);
  const constant = pass.target.constant;
  const url = constant !== undefined ? parseProxyUrl(constant) : undefined;
  if (constant !== undefined && !url) throw new ConfigError(`invalid URL prefix in "${constant}"`, pass.origin.file, pass.origin.line);
  if (url?.uri !== undefined && match && (match.modifier === '~' || match.modifier === '~*' || match.modifier === '@' || scope.context === 'location-if' || scope.context === 'limit_except')) {
    throw new ConfigError(
      `"proxy_pass" cannot have URI part in location given by regular expression, or inside named location, or inside "if" statement, or inside "limit_except" block`,
      pass.origin.file,
      pass.origin.line,
    );
  }
  const verify = scope.get(PROXY_SSL_VERIFY) ?? false;
  const trusted = scope.get(PROXY_SSL_TRUSTED_CERTIFICATE);
  const tlsBase: UpstreamTls = {
    rejectUnauthorized: verify,
    ca: trusted ? readTrusted(ctx.resolveConfPath(trusted), scope) : undefined,
    sessionReuse: scope.get(PROXY_SSL_SESSION_REUSE) ?? true,
  };
  const sslNameConf = scope.get(PROXY_SSL_NAME);
  if (sslNameConf && sslNameConf.constant === undefined) {
    throw new ConfigError('"proxy_ssl_name" with variables is not supported by Portico', scope.origin.file, scope.origin.line);
  }
  const sendSni = scope.get(PROXY_SSL_SERVER_NAME) ?? false;
  /** SNI and verified name: proxy_ssl_name (default: the proxy_pass host); no SNI unless it is sent or verified. */
  const sslServername = (host: string): string | undefined => (sendSni || verify ? (sslNameConf?.constant ?? host) : undefined);
  const userParams = scope.get(slots.params) ?? [];
  const setNames = new Set(userParams.map((p) => p.name.toLowerCase()));
  const params: ParamSpec[] = [...userParams];
  const conf: ProxyLocationConf = {
    url,
    dynamic: constant === undefined ? pass.target : undefined,
    version: scope.get(PROXY_HTTP_VERSION),
    params,
    setNames,
    passHeaders: scope.get(slots.passRequestHeaders) ?? true,
    locationPrefix: match && (match.modifier === '' || match.modifier === '^~' || match.modifier === '=') ? match.pattern : undefined,
    redirects: scope.get(PROXY_REDIRECT) ?? [{ kind: 'default' }],
    tls: undefined,
  };
  const hidden = new Set(HIDDEN);
  for (const h of scope.get(slots.hideHeaders) ?? []) hidden.add(h);
  for (const h of scope.get(slots.passHeaders) ?? []) hidden.delete(h);

  const groupFor = (u: ParsedProxyUrl): GroupRuntime<HttpRequest> => {
    const spec = u.port === undefined ? groupSpecs(ctx).get(u.host) : undefined;
    const label = u.port === undefined || (u.scheme === 'http' && u.port === 80) || (u.scheme === 'https' && u.port === 443) ? u.host : `${u.host}:${u.port}`;
    const tls = u.scheme === 'https' ? { ...tlsBase, servername: sslServername(u.host) } : undefined;
    const address = u.host.startsWith('unix:') ? u.host : `${u.host}:${u.port ?? (u.scheme === 'https' ? 443 : 80)}`;
    return makeGroup<HttpRequest>(ctx, `proxy:${u.scheme}:${spec ? 'group:' + u.host : address}${tls ? `:tls:${verify}:${tls.servername ?? ''}:${trusted ?? ''}` : ''}`, label, spec, spec ? undefined : implicitPeer(address), tls, (k) => createHttpTransport(k) as HttpTransport, 'http');
  };
  const fixed = url ? groupFor(url) : undefined;

  const adapter: ProtocolAdapter<HttpRequest> = {
    prefix: 'proxy',
    hidden,
    lengthRequired: conf.version !== '1.1',
    build: (s, group, body, bodyLength) => buildRequest(s, conf, group, body, bodyLength),
    upgradable: (r) => r.version === '1.1' && r.headers.some(([k]) => k.toLowerCase() === 'upgrade'),
    rewriteHeader: (s, name, value) => (name === 'location' || name === 'refresh' ? rewriteRedirectHeader(s, conf, name, value) : undefined),
  };
  return {
    adapter,
    resolve(s) {
      if (fixed) {
        s.proxyHost = fixed.hostLabel;
        return fixed;
      }
      const target = (conf.dynamic as Template).evaluate(s);
      const u = parseProxyUrl(target);
      if (!u) {
        s.log('error', `invalid URL prefix in "${target}"`);
        return undefined;
      }
      s.proxyTarget = u;
      const g = groupFor(u);
      s.proxyHost = g.hostLabel;
      return g;
    },
  };
}

function targetUri(s: RequestSession, conf: ProxyLocationConf): string {
  const dyn = s.proxyTarget;
  if (dyn) return dyn.uri !== undefined ? dyn.uri : s.uriChanged ? escapeUri(s.uri) + (s.args ? `?${s.args}` : '') : s.requestUri;
  const uri = conf.url?.uri;
  if (uri === undefined) return s.uriChanged ? escapeUri(s.uri) + (s.args ? `?${s.args}` : '') : s.requestUri;
  if (s.rewriteBreak) return escapeUri(s.uri) + (s.args ? `?${s.args}` : '');
  const prefix = conf.locationPrefix ?? '';
  const rest = s.uri.startsWith(prefix) ? s.uri.slice(prefix.length) : s.uri;
  return escapeUri(uri + rest) + (s.args ? `?${s.args}` : '');
}

function buildRequest(s: RequestSession, conf: ProxyLocationConf, group: GroupRuntime<HttpRequest>, body: RequestBody, bodyLength: number | null): HttpRequest {
  const keepalive = (group.spec?.keepalive ?? 0) > 0;
  const version = conf.version ?? (keepalive ? '1.1' : '1.0');
  const headers: [string, string][] = [];
  if (!conf.setNames.has('host')) headers.push(['Host', DEFAULT_HOST.evaluate(s)]);
  if (!conf.setNames.has('connection') && !keepalive) headers.push(['Connection', CONNECTION_CLOSE.evaluate(s)]);
  for (const p of conf.params) {
    const v = p.value.evaluate(s);
    if (v === '') continue;
    headers.push([p.name, v]);
  }
  if (conf.passHeaders) {
    const raw = s.req.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i];
      if (name.charCodeAt(0) === 58) continue;
      const lower = name.toLowerCase();
      if (DROP.has(lower) || conf.setNames.has(lower)) continue;
      headers.push([name, raw[i + 1]]);
    }
  }
  if (body !== null) {
    if (bodyLength !== null) headers.push(['Content-Length', String(bodyLength)]);
    else if (version === '1.1') headers.push(['Transfer-Encoding', 'chunked']);
  }
  return { method: s.method, target: targetUri(s, conf), version, headers };
}

/** proxy_redirect on Location (a rewritten relative value made absolute, as nginx) and on Refresh after `url=`. */
function rewriteRedirectHeader(s: RequestSession, conf: ProxyLocationConf, name: string, value: string): string | undefined {
  if (name === 'location') {
    const v = rewriteRedirect(s, conf, value);
    return v === undefined ? undefined : absoluteLocation(s, v);
  }
  const at = value.toLowerCase().indexOf('url=');
  if (at < 0) return undefined;
  const v = rewriteRedirect(s, conf, value.slice(at + 4));
  return v === undefined ? undefined : value.slice(0, at + 4) + v;
}

function rewriteRedirect(s: RequestSession, conf: ProxyLocationConf, value: string): string | undefined {
  for (const r of conf.redirects) {
    if (r.kind === 'off') return undefined;
    if (r.kind === 'default') {
      const u = conf.url;
      if (!u) continue;
      const from = `${u.scheme}://${s.proxyHost}${u.uri ?? '/'}`;
      if (value.startsWith(from)) return (u.uri === undefined ? '/' : (conf.locationPrefix ?? '/')) + value.slice(from.length);
      continue;
    }
    if (typeof r.from === 'string') {
      if (value.startsWith(r.from)) return r.to.evaluate(s) + value.slice(r.from.length);
    } else {
      const m = r.from.exec(value);
      if (m) {
        s.captures = [...m];
        return r.to.evaluate(s);
      }
    }
  }
  return undefined;
}
