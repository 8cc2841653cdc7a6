// nginx's geo module (1.22): `geo [$address] $variable { ... }` in http defines $variable from the client address
// (or from $address's value; one that is not an address counts as 255.255.255.255): the value of the most specific
// listed network (IPv4 and IPv6, `default`, `delete`), or with `ranges;` of the IPv4 range holding it. `proxy` and
// `proxy_recursive` take the address from X-Forwarded-For when it comes from a listed proxy. Addresses are read
// with nginx's own parsers. Values are plain strings. Not realip, and nginx's load warnings are not reported.

import type { DirectiveSpec } from '../config/directives.ts';
import { ConfigError } from '../config/errors.ts';
import { templateArg } from '../config/helpers.ts';
import type { Session } from '../core/session.ts';
import { defineVariable, type Template } from '../core/variables.ts';
import { INADDR_NONE, inet4, parseAddr, parseAddrPort, maskV4, maskV6, parseCidr, unmap, hex, inCidr, type Addr, type Cidr } from './nginx-address.ts';

/** Networks by prefix length; the longest matching prefix wins, as in nginx's radix trees. */
class NetTable {
  private readonly v4 = new Map<number, Map<number, string>>();
  private readonly v6 = new Map<number, Map<string, string>>();
  private lengths4: number[] = [];
  private lengths6: number[] = [];

  set(c: Cidr, value: string): void {
    if (typeof c.addr === 'number') {
      if (!this.v4.has(c.bits)) this.lengths4 = [...this.lengths4, c.bits].sort((x, y) => y - x);
      this.v4.set(c.bits, (this.v4.get(c.bits) ?? new Map()).set(c.addr, value));
    } else {
      if (!this.v6.has(c.bits)) this.lengths6 = [...this.lengths6, c.bits].sort((x, y) => y - x);
      this.v6.set(c.bits, (this.v6.get(c.bits) ?? new Map()).set(hex(c.addr), value));
    }
  }

  delete(c: Cidr): void {
    if (typeof c.addr === 'number') this.v4.get(c.bits)?.delete(c.addr);
    else this.v6.get(c.bits)?.delete(hex(c.addr));
  }

  find(a: Addr): string {
    if (typeof a === 'number') {
      for (const bits of this.lengths4) {
        const v = this.v4.get(bits)?.get(maskV4(a, bits));
        if (v !== undefined) return v;
      }
      return '';
    }
    for (const bits of this.lengths6) {
      const v = this.v6.get(bits)?.get(hex(maskV6(a, bits)));
      if (v !== undefined) return v;
    }
    return '';
  }
}

interface Piece {
  start: number;
  end: number;
  value: string;
}

const dotted = (high: number, low: number): string => `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;

/** Puts [s, e] into one /16's sorted pieces as nginx does: inside, at either end of, or replacing one piece. */
function place(list: Piece[], s: number, e: number, value: string): Piece | undefined {
  for (let i = list.length - 1; i >= 0; i--) {
    const r = list[i];
    if (e < r.start) continue;
    if (s > r.end) list.splice(i + 1, 0, { start: s, end: e, value });
    else if (s === r.start && e === r.end) r.value = value;
    else if (s > r.start && e < r.end) {
      list.splice(i + 1, 0, { start: s, end: e, value }, { start: e + 1, end: r.end, value: r.value });
      r.end = s - 1;
    } else if (s === r.start && e < r.end) {
      list.splice(i, 0, { start: s, end: e, value });
      r.start = e + 1;
    } else if (s > r.start && e === r.end) {
      list.splice(i + 1, 0, { start: s, end: e, value });
      r.end = s - 1;
    } else return r;
    return undefined;
  }
  list.unshift({ start: s, end: e, value });
  return undefined;
}

/** `ranges`: nginx keeps each range cut at /16 boundaries, in one sorted list of pieces per /16. */
class RangeTable {
  private readonly buckets = new Map<number, Piece[]>();
  fallback = '';

  add(start: number, end: number, value: string, net: string, fail: (d: string) => never): void {
    for (let h = start >>> 16; h <= end >>> 16; h++) {
      const s = h === start >>> 16 ? start & 0xffff : 0;
      const e = h === end >>> 16 ? end & 0xffff : 0xffff;
      const list = this.buckets.get(h) ?? [];
      this.buckets.set(h, list);
      const clash = place(list, s, e, value);
      if (clash) fail(`range "${net}" overlaps "${dotted(h, clash.start)}-${dotted(h, clash.end)}"`);
    }
  }

  delete(start: number, end: number): void {
    for (let h = start >>> 16; h <= end >>> 16; h++) {
      const s = h === start >>> 16 ? start & 0xffff : 0;
      const e = h === end >>> 16 ? end & 0xffff : 0xffff;
      const list = this.buckets.get(h);
      const at = list ? list.findIndex((p) => p.start === s && p.end === e) : -1;
      if (list && at >= 0) list.splice(at, 1);
    }
  }

  find(a: number): string {
    const list = this.buckets.get(a >>> 16);
    const low = a & 0xffff;
    if (list) for (const p of list) if (low >= p.start && low <= p.end) return p.value;
    return this.fallback;
  }
}

export interface GeoTable {
  nets: NetTable | undefined;
  ranges: RangeTable | undefined;
  proxies: Cidr[];
  recursive: boolean;
}

export interface GeoLine {
  args: string[];
  fail(detail: string): never;
}

/** Reads the lines of a geo block, in order, with nginx's checks and messages. */
export function compileGeo(lines: readonly GeoLine[]): GeoTable {
  const nets = new NetTable();
  const ranges = new RangeTable();
  let rangesMode = false;
  let netsSeen = false;
  const g: GeoTable = { nets: undefined, ranges: undefined, proxies: [], recursive: false };
  for (const { args, fail } of lines) {
    const [key, value] = args;
    if (args.length === 1 && key === 'ranges') {
      if (netsSeen) fail('the "ranges" directive must be the first directive inside "geo" block');
      rangesMode = true;
      continue;
    }
    if (args.length === 1 && key === 'proxy_recursive') {
      g.recursive = true;
      continue;
    }
    if (args.length !== 2) fail('invalid number of the geo parameters');
    if (key === 'proxy') {
      g.proxies.push(parseCidr(value) ?? fail(`invalid network "${value}"`));
      continue;
    }
    const del = key === 'delete';
    const net = del ? value : key;
    if (rangesMode) {
      if (key === 'default') {
        ranges.fallback = value;
        continue;
      }
      const dash = net.indexOf('-');
      const start = dash < 0 ? undefined : inet4(net.slice(0, dash));
      const end = dash < 0 ? undefined : inet4(net.slice(dash + 1));
      if (start === undefined || end === undefined || start > end) fail(`invalid range "${net}"`);
      if (del) ranges.delete(start as number, end as number);
      else ranges.add(start as number, end as number, value, net, fail);
      continue;
    }
    netsSeen = true;
    if (key === 'default') {
      nets.set({ addr: 0, bits: 0 }, value);
      nets.set({ addr: new Uint8Array(16), bits: 0 }, value);
      continue;
    }
    const cidr = parseCidr(net) ?? fail(`invalid network "${net}"`);
    if (del) nets.delete(cidr);
    else nets.set(cidr, value);
  }
  if (rangesMode) g.ranges = ranges;
  else g.nets = nets;
  return g;
}

type Forwarded = { rc: 'ok' | 'declined' | 'done'; addr: Addr };

/** nginx's ngx_http_get_forwarded_addr_internal over one X-Forwarded-For value, read from its right end. */
function forwardedIn(addr: Addr, xff: string, len: number, proxies: readonly Cidr[], recursive: boolean): Forwarded {
  const from = unmap(addr);
  if (!proxies.some((c) => inCidr(from, c)) || len === 0) return { rc: 'declined', addr };
  const sep = (i: number) => xff[i] === ' ' || xff[i] === ',';
  let p = len - 1;
  let end = len;
  for (; p > 0 && sep(p); p--) end--;
  for (; p > 0; p--) {
    if (sep(p)) {
      p++;
      break;
    }
  }
  const found = parseAddrPort(xff.slice(p, end));
  if (found === undefined) return { rc: 'declined', addr };
  if (!recursive || p === 0) return { rc: 'ok', addr: found };
  const deeper = forwardedIn(found, xff, p - 1, proxies, true);
  return deeper.rc === 'declined' ? { rc: 'done', addr: found } : deeper;
}

/** nginx's ngx_http_get_forwarded_addr over every X-Forwarded-For header, the last one first. */
export function forwardedAddr(addr: Addr, headers: readonly string[], proxies: readonly Cidr[], recursive: boolean): Addr {
  for (let i = headers.length - 1; i >= 0; i--) {
    const r = forwardedIn(addr, headers[i], headers[i].length, proxies, recursive);
    addr = r.addr;
    if (!recursive || r.rc !== 'ok') break;
  }
  return addr;
}

/** The variable's value for an address text (undefined: no address) and the request's X-Forwarded-For headers. */
export function geoLookup(g: GeoTable, address: string | undefined, xff: readonly string[]): string {
  let a = address === undefined ? undefined : parseAddr(address);
  if (a !== undefined && g.proxies.length > 0 && xff.length > 0) a = forwardedAddr(a, xff, g.proxies, g.recursive);
  const key = a === undefined ? INADDR_NONE : unmap(a);
  if (g.ranges) return g.ranges.find(typeof key === 'number' ? key : INADDR_NONE);
  return (g.nets as NetTable).find(key);
}

function forwardedHeaders(s: Session): string[] {
  const raw = s.req.rawHeaders;
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i].length === 15 && raw[i].toLowerCase() === 'x-forwarded-for') out.push(raw[i + 1]);
  return out;
}

/** nginx's own variables that cannot be redefined (`the duplicate "x" variable`), as nginx 1.22 (Debian) has them. */
const BUILTIN = new Set(
  `binary_remote_addr body_bytes_sent bytes_sent connection connection_requests connection_time connections_active
  connections_reading connections_waiting connections_writing content_length content_type date_gmt date_local
  document_root document_uri fastcgi_path_info fastcgi_script_name gzip_ratio host hostname http2 http_cookie
  http_host http_referer http_user_agent http_via http_x_forwarded_for https is_args limit_conn_status
  limit_req_status msec nginx_version pid pipe proxy_add_x_forwarded_for proxy_internal_body_length
  proxy_internal_chunked proxy_protocol_addr proxy_protocol_port proxy_protocol_server_addr
  proxy_protocol_server_port query_string realip_remote_addr realip_remote_port realpath_root remote_addr
  remote_port remote_user request request_body request_body_file request_completion request_filename request_id
  request_length request_method request_time request_uri scheme secure_link secure_link_expires
  sent_http_cache_control sent_http_connection sent_http_content_length sent_http_content_type sent_http_keep_alive
  sent_http_last_modified sent_http_link sent_http_location sent_http_transfer_encoding server_addr server_name
  server_port server_protocol slice_range status tcpinfo_rcv_space tcpinfo_rtt tcpinfo_rttvar tcpinfo_snd_cwnd
  time_iso8601 time_local uid_got uid_set upstream_addr upstream_bytes_received upstream_bytes_sent
  upstream_cache_status upstream_connect_time upstream_header_time upstream_response_length upstream_response_time
  upstream_status uri`.split(/\s+/),
);

function variableName(c: { fail(d: string): never }, arg: string): string {
  if (!arg.startsWith('$')) c.fail(`invalid variable name "${arg}"`);
  if (arg.length === 1) c.fail('invalid variable name "$"');
  return arg.slice(1);
}

export const geoDirectives: DirectiveSpec[] = [
  {
    name: 'geo',
    contexts: ['http'],
    args: [1, 2],
    block: 'raw',
    multi: true,
    handler(c) {
      let source: Template | undefined;
      if (c.args.length === 2) {
        const from = variableName(c, c.args[0]);
        if (from.includes('}')) c.fail(`unknown "${from}" variable`);
        source = templateArg(c, `\${${from}}`);
      }
      const name = variableName(c, c.args[c.args.length - 1]);
      if (BUILTIN.has(name.toLowerCase())) c.fail(`the duplicate "${name}" variable`);
      const lines: GeoLine[] = (c.node.block ?? []).map((n) => {
        const fail = (d: string): never => {
          throw new ConfigError(d, n.file, n.line);
        };
        if (n.block) fail('unexpected "{"');
        return { args: [n.name, ...n.args], fail };
      });
      const g = compileGeo(lines);
      const key = name.toLowerCase();
      defineVariable(key, (s) => {
        let v = s.vars.get(key);
        if (v === undefined) {
          v = geoLookup(g, source ? source.evaluate(s) : s.remoteAddr.replace(/%.*$/, ''), g.proxies.length > 0 ? forwardedHeaders(s) : []);
          s.vars.set(key, v);
        }
        return v;
      });
    },
  },
];
