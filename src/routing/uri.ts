// Request-target pieces routing needs: the absolute form (`GET http://host/path`) split into host and origin
// form, and Host validation as nginx's (lowercase, port and trailing dot stripped; `/`, `..`, spaces and control
// characters rejected). The $uri normalizer itself is static/safe-path.ts normalizeUri. Pure functions.

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

/**
 * Lowercased host without port and trailing dot, or undefined for an invalid Host (nginx's rules: no "..",
 * "/", control characters or spaces anywhere, and a non-empty name).
 */
export function normalizeHost(raw: string): string | undefined {
  let dot = -2;
  let hostLen = raw.length;
  let state: 'usual' | 'literal' | 'rest' = 'usual';
  for (let i = 0; i < raw.length; i++) {
    const ch = raw.charCodeAt(i);
    if (ch === 0x2e) {
      if (dot === i - 1) return undefined;
      dot = i;
    } else if (ch === 0x3a) {
      if (state === 'usual') {
        hostLen = i;
        state = 'rest';
      }
    } else if (ch === 0x5b) {
      if (i === 0) state = 'literal';
    } else if (ch === 0x5d) {
      if (state === 'literal') {
        hostLen = i + 1;
        state = 'rest';
      }
    } else if (ch === 0x2f || ch <= 0x20 || ch === 0x7f) return undefined;
  }
  if (dot === hostLen - 1) hostLen--;
  if (hostLen <= 0) return undefined;
  return raw.slice(0, hostLen).toLowerCase();
}
