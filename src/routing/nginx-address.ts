// Addresses as nginx reads them (ngx_inet_addr, ngx_inet6_addr, ngx_ptocidr, an address with a port), for geo:
// nginx's parsers accept and refuse other strings than ipaddr.js (an empty octet is 0, a leading zero is decimal,
// some IPv6 spellings are refused), and geo answers must match nginx's. IPv4 as an unsigned 32-bit number, IPv6 as
// 16 bytes. Not the allow/deny rules (access/check.ts, ipaddr.js).

/** An IPv4 address as an unsigned 32-bit number, or an IPv6 address as 16 bytes. */
export type Addr = number | Uint8Array;

export interface Cidr {
  addr: Addr;
  bits: number;
}

export const INADDR_NONE = 0xffffffff;

/** nginx's ngx_inet_addr: four decimal octets, empty ones read as 0; 255.255.255.255 is its error value. */
export function inet4(t: string): number | undefined {
  let addr = 0;
  let octet = 0;
  let dots = 0;
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      octet = octet * 10 + c - 48;
      if (octet > 255) return undefined;
    } else if (c === 46) {
      addr = addr * 256 + octet;
      octet = 0;
      dots++;
    } else return undefined;
  }
  if (dots !== 3) return undefined;
  addr = addr * 256 + octet;
  return addr === INADDR_NONE ? undefined : addr;
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  return l >= 97 && l <= 102 ? l - 87 : -1;
}

/** nginx's ngx_inet6_addr: at most one `::`, up to four hex digits a group, an IPv4 tail in the last two groups. */
export function inet6(t: string): Uint8Array | undefined {
  if (t === '') return undefined;
  const out = new Uint8Array(16);
  let o = 0;
  let zero = -1;
  let tail = -1;
  let nibbles = 0;
  let word = 0;
  let left = 8;
  for (let i = t[0] === ':' ? 1 : 0; i < t.length; i++) {
    const c = t[i];
    if (c === ':') {
      tail = i + 1;
      if (nibbles > 0) {
        out[o++] = word >> 8;
        out[o++] = word & 0xff;
        if (--left === 0) return undefined;
        nibbles = 0;
        word = 0;
        continue;
      }
      if (zero >= 0) return undefined;
      zero = o;
      continue;
    }
    if (c === '.' && nibbles > 0) {
      if (left < 2 || tail < 0) return undefined;
      const v4 = inet4(t.slice(tail));
      if (v4 === undefined) return undefined;
      out[o++] = v4 >>> 24;
      out[o++] = (v4 >>> 16) & 0xff;
      left--;
      word = v4 & 0xffff;
      break;
    }
    if (++nibbles > 4) return undefined;
    const h = hexDigit(t.charCodeAt(i));
    if (h < 0) return undefined;
    word = word * 16 + h;
  }
  if (nibbles === 0 && zero < 0) return undefined;
  out[o++] = word >> 8;
  out[o++] = word & 0xff;
  if (--left === 0) return zero < 0 ? out : undefined;
  if (zero < 0) return undefined;
  const moved = out.slice(zero, o);
  out.fill(0, zero);
  out.set(moved, 16 - moved.length);
  return out;
}

/** nginx's ngx_parse_addr: an IPv4 or IPv6 address, nothing around it. */
export function parseAddr(t: string): Addr | undefined {
  return inet4(t) ?? inet6(t);
}

/** nginx's ngx_parse_addr_port: an address, `a.b.c.d:port` or `[v6]:port`. */
export function parseAddrPort(t: string): Addr | undefined {
  const plain = parseAddr(t);
  if (plain !== undefined) return plain;
  let host: string;
  let port: string;
  if (t.startsWith('[')) {
    const close = t.indexOf(']');
    if (close < 0 || t[close + 1] !== ':') return undefined;
    host = t.slice(1, close);
    port = t.slice(close + 2);
  } else {
    const colon = t.indexOf(':');
    if (colon < 0) return undefined;
    host = t.slice(0, colon);
    port = t.slice(colon + 1);
  }
  if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) return undefined;
  return parseAddr(host);
}

export function maskV4(a: number, bits: number): number {
  return bits === 0 ? 0 : (a & (0xffffffff << (32 - bits))) >>> 0;
}

export function maskV6(a: Uint8Array, bits: number): Uint8Array {
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) {
    const s = Math.max(0, Math.min(8, bits - i * 8));
    out[i] = a[i] & ((0xff << (8 - s)) & 0xff);
  }
  return out;
}

/** nginx's ngx_ptocidr, with the literal 255.255.255.255 geo accepts as well. */
export function parseCidr(t: string): Cidr | undefined {
  if (t === '255.255.255.255') return { addr: INADDR_NONE, bits: 32 };
  const slash = t.indexOf('/');
  const addr = parseAddr(slash < 0 ? t : t.slice(0, slash));
  if (addr === undefined) return undefined;
  const max = typeof addr === 'number' ? 32 : 128;
  if (slash < 0) return { addr, bits: max };
  const m = t.slice(slash + 1);
  if (!/^\d+$/.test(m) || Number(m) > max) return undefined;
  const bits = Number(m);
  return { addr: typeof addr === 'number' ? maskV4(addr, bits) : maskV6(addr, bits), bits };
}

/** The IPv4 address an IPv4-mapped IPv6 address stands for; other IPv6 addresses as they are. */
export function unmap(a: Addr): Addr {
  if (typeof a === 'number') return a;
  for (let i = 0; i < 10; i++) if (a[i] !== 0) return a;
  if (a[10] !== 0xff || a[11] !== 0xff) return a;
  return ((a[12] << 24) | (a[13] << 16) | (a[14] << 8) | a[15]) >>> 0;
}

export const hex = (a: Uint8Array): string => Buffer.from(a).toString('hex');

export function inCidr(a: Addr, c: Cidr): boolean {
  if (typeof a === 'number') return typeof c.addr === 'number' && maskV4(a, c.bits) === c.addr;
  return typeof c.addr !== 'number' && hex(maskV6(a, c.bits)) === hex(c.addr);
}
