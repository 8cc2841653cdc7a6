// nginx's built-in response bodies for the statuses it produces itself (the small HTML page with the status in
// the title, and the server signature unless server_tokens is off), and its reason phrases.

import { STATUS_CODES } from 'node:http';

const NGINX_TEXT: Record<number, string> = {
  405: 'Not Allowed',
  408: 'Request Time-out',
  413: 'Request Entity Too Large',
  414: 'Request-URI Too Large',
  416: 'Requested Range Not Satisfiable',
  494: 'Request Header Or Cookie Too Large',
  503: 'Service Temporarily Unavailable',
  504: 'Gateway Time-out',
};

export function statusText(code: number): string {
  return NGINX_TEXT[code] ?? STATUS_CODES[code] ?? '';
}

/** The reason phrase of nginx's status line (its page title, except 302's "Moved Temporarily"). */
export function reasonPhrase(code: number): string {
  if (code === 302) return 'Moved Temporarily';
  if (code >= 494 && code <= 497) return 'Bad Request';
  return statusText(code);
}

const cache = new Map<string, string>();

export function errorBody(code: number, tokens: 'on' | 'off' | 'build'): string {
  const key = `${code}:${tokens}`;
  let body = cache.get(key);
  if (body !== undefined) return body;
  const title = code === 494 ? '400 Request Header Or Cookie Too Large' : `${code} ${statusText(code)}`.trimEnd();
  const sig = tokens === 'off' ? 'portico' : 'portico/0.1.0';
  body = `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>${sig}</center>\r\n</body>\r\n</html>\r\n`;
  cache.set(key, body);
  return body;
}
