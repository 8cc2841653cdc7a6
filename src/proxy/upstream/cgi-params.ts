// The CGI variables fastcgi_pass and uwsgi_pass send, as nginx builds them: each fastcgi_param / uwsgi_param
// evaluated per request (if_not_empty skips an empty value), then every request header as HTTP_<NAME> (uppercase,
// `-` -> `_`, duplicates joined) unless a HTTP_* param already names it. HTTP_PROXY is never sent (httpoxy).
// Not an encoder: fastcgi-codec.ts and uwsgi-codec.ts lay the pairs out on the wire.

import type { ParamSpec } from './conf.ts';
import type { RequestSession } from '../session.ts';

export interface CgiParamPlan {
  readonly params: readonly ParamSpec[];
  /** Header names (lowercase, `-` as `_`) a HTTP_* param claims: the request header is not passed. */
  readonly claimed: ReadonlySet<string>;
  /** *_pass_request_headers. */
  readonly passHeaders: boolean;
  /** underscores_in_headers: off (nginx's default) drops headers whose name has `_`, which would alias `-`. */
  readonly underscores: boolean;
}

export function cgiParamPlan(params: readonly ParamSpec[], passHeaders: boolean, underscores: boolean): CgiParamPlan {
  const claimed = new Set<string>(['proxy']);
  for (const p of params) {
    if (p.name.length > 5 && p.name.startsWith('HTTP_')) claimed.add(p.name.slice(5).toLowerCase());
  }
  return { params, claimed, passHeaders, underscores };
}

/** nginx's header-to-variable name: `HTTP_` + the name uppercased with `-` turned into `_`. */
export function cgiHeaderName(header: string): string {
  let out = 'HTTP_';
  for (let i = 0; i < header.length; i++) {
    const c = header.charCodeAt(i);
    out += c === 45 ? '_' : c >= 97 && c <= 122 ? String.fromCharCode(c - 32) : header[i];
  }
  return out;
}

/**
 * bodyLength: the request body's length once known (buffered), or null. A `$content_length` param then falls
 * back to it when the client sent no Content-Length (chunked, HTTP/2), as nginx sets it after reading the body,
 * and Transfer-Encoding is not passed: the body goes de-chunked with that length (WSGI apps would read none).
 */
export function buildCgiParams(s: RequestSession, plan: CgiParamPlan, bodyLength: number | null): [string, string][] {
  const out: [string, string][] = [];
  for (const p of plan.params) {
    if (p.value.source === '' && p.name.length > 5 && p.name.startsWith('HTTP_')) continue;
    let value = p.value.evaluate(s);
    if (value === '' && bodyLength !== null && p.value.source === '$content_length') value = String(bodyLength);
    if (value === '' && p.ifNotEmpty) continue;
    out.push([p.name, value]);
  }
  if (!plan.passHeaders) return out;
  const raw = s.req.rawHeaders;
  let index: Map<string, number> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.charCodeAt(0) === 58) continue;
    if (!plan.underscores && name.includes('_')) continue;
    const key = name.toLowerCase().replace(/-/g, '_');
    if (plan.claimed.has(key)) continue;
    if (bodyLength !== null && key === 'transfer_encoding') continue;
    const value = raw[i + 1]!;
    index ??= new Map();
    const at = index.get(key);
    if (at !== undefined) {
      const pair = out[at]!;
      pair[1] += (key === 'cookie' ? '; ' : ', ') + value;
      continue;
    }
    index.set(key, out.length);
    out.push([cgiHeaderName(name), value]);
  }
  return out;
}
