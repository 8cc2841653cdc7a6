// Request-target pieces routing needs: the absolute form (`GET http://host/path`) split into host and origin
// form, and Host validation (lowercase, port and trailing dot stripped, `/`, `\` and `..` rejected). The $uri
// normalizer itself is static/safe-path.ts normalizeUri. Pure functions.

export interface ParsedTarget {
  path: string;
  args: string;
  host: string | undefined;
}

export function splitTarget(target: string): ParsedTarget | undefined {
  let host: string | undefined;
  let rest = target;
  if (!target.startsWith('/')) {
    const m = /^https?:\/\/([^/?#]*)(.*)$/i.exec(target);
    if (!m) return undefined;
    host = m[1];
    rest = m[2] === '' ? '/' : m[2];
    if (!rest.startsWith('/')) {
      if (rest.startsWith('?')) rest = '/' + rest;
      else return undefined;
    }
  }
  const hash = rest.indexOf('#');
  if (hash >= 0) rest = rest.slice(0, hash);
  const q = rest.indexOf('?');
  if (q < 0) return { path: rest, args: '', host };
  return { path: rest.slice(0, q), args: rest.slice(q + 1), host };
}

/** Lowercased host without port and trailing dot, or undefined for an invalid Host. */
export function normalizeHost(raw: string): string | undefined {
  let h = raw;
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    if (end < 0) return undefined;
    h = h.slice(0, end + 1);
  } else {
    const colon = h.indexOf(':');
    if (colon >= 0) h = h.slice(0, colon);
  }
  if (h.endsWith('.')) h = h.slice(0, -1);
  if (h.includes('/') || h.includes('\\') || h.includes('..') || h.includes('\0')) return undefined;
  return h.toLowerCase();
}
