// The CGI variables the direct client sends to php-fpm / uWSGI: Debian's stock /etc/nginx/fastcgi_params or
// uwsgi_params, read line by line, with each nginx variable replaced by what it holds for a wrk request
// (GET, no body, Host 127.0.0.1), then the scenario's own params (SCRIPT_FILENAME). Not nginx's variable engine:
// only the variables those two files use, with fixed values.

import { readFileSync } from 'node:fs';
import type { NameValue } from '../../src/protocols/name-value-input.ts';

export type DirectProtocol = 'fastcgi' | 'uwsgi';

export const stockParamsFile: Record<DirectProtocol, string> = {
  fastcgi: '/etc/nginx/fastcgi_params',
  uwsgi: '/etc/nginx/uwsgi_params',
};

/** What nginx's variables hold for `GET <uri> HTTP/1.1` from wrk (Host: 127.0.0.1:<port>). */
function variables(uri: string, serverPort: number): Record<string, string> {
  const q = uri.indexOf('?');
  const path = q === -1 ? uri : uri.slice(0, q);
  return {
    query_string: q === -1 ? '' : uri.slice(q + 1),
    args: q === -1 ? '' : uri.slice(q + 1),
    request_method: 'GET',
    content_type: '',
    content_length: '',
    fastcgi_script_name: path,
    request_uri: uri,
    document_uri: path,
    uri: path,
    document_root: '/etc/nginx/html',
    server_protocol: 'HTTP/1.1',
    scheme: 'http',
    https: '',
    nginx_version: '1.22.1',
    remote_addr: '127.0.0.1',
    remote_port: '40000',
    remote_user: '',
    server_addr: '127.0.0.1',
    server_port: String(serverPort),
    server_name: 'bench',
    host: '127.0.0.1',
  };
}

/** `<prefix>_param NAME VALUE [if_not_empty];` lines of a stock params file, variables filled in. */
export function stockParams(protocol: DirectProtocol, uri: string, extra: readonly NameValue[] = [], serverPort = 80): NameValue[] {
  const vars = variables(uri, serverPort);
  const out: NameValue[] = [];
  const line = new RegExp(`^\\s*${protocol}_param\\s+(\\S+)\\s+(\\S+)(\\s+if_not_empty)?\\s*;`);
  for (const text of readFileSync(stockParamsFile[protocol], 'utf8').split('\n')) {
    const m = line.exec(text);
    if (!m) continue;
    const value = m[2]!.replace(/\$(\w+)/g, (_, name: string) => {
      const v = vars[name];
      if (v === undefined) throw new Error(`${stockParamsFile[protocol]}: no value for $${name}`);
      return v;
    });
    if (m[3] && value === '') continue;
    out.push([m[1]!, value]);
  }
  if (out.length === 0) throw new Error(`${stockParamsFile[protocol]}: no ${protocol}_param lines (package nginx-common)`);
  return [...out, ...extra];
}
