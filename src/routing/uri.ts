// Request-target handling as nginx does it: split path and arguments, percent-decode the path, merge slashes,
// resolve `.` and `..` segments (a `..` above the root is a 400), reject NUL; and Host validation (lowercase,
// port and trailing dot stripped, `/`, `\` and `..` rejected). Pure functions; nothing here touches the file system.

export interface ParsedTarget {
  path: string;
  args: string;
  host: string | undefined;
}

const HEX = /^[0-9a-fA-F]{2}$/;

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

function percentDecode(path: string): string | undefined {
  if (!path.includes('%')) return path;
  const bytes: number[] = [];
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 0x25) {
      const hex = path.slice(i + 1, i + 3);
      if (!HEX.test(hex)) return undefined;
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else if (c < 0x80) bytes.push(c);
    else for (const b of Buffer.from(path[i], 'utf8')) bytes.push(b);
  }
  return Buffer.from(bytes).toString('utf8');
}

/** The normalized $uri for a raw path, or undefined when nginx would answer 400. */
export function normalizePath(rawPath: string, mergeSlashes: boolean): string | undefined {
  const decoded = percentDecode(rawPath);
  if (decoded === undefined || decoded.includes('\0') || !decoded.startsWith('/')) return undefined;
  if (!mergeSlashes && !decoded.includes('/.')) return decoded;
  if (mergeSlashes && !decoded.includes('//') && !decoded.includes('/.')) return decoded;
  const segments = decoded.split('/');
  const out: string[] = [];
  const last = segments.length - 1;
  for (let i = 1; i <= last; i++) {
    const seg = segments[i];
    if (seg === '.') {
      if (i === last) out.push('');
      continue;
    }
    if (seg === '..') {
      if (out.length === 0) return undefined;
      out.pop();
      if (i === last) out.push('');
      continue;
    }
    if (seg === '' && mergeSlashes && i !== last) continue;
    out.push(seg);
  }
  return '/' + out.join('/');
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
