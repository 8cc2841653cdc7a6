// Pure parser for the start of a TLS connection: reassembles the ClientHello from one or more handshake records and
// reads SNI (server_name), ALPN and supported_versions. Not a TLS implementation: no I/O, no validation of ciphers.

export interface ClientHello {
  kind: 'hello';
  /** host_name from server_name, lower case; undefined when absent. */
  serverName: string | undefined;
  /** ALPN protocol names in client order; empty when the extension is absent. */
  alpn: string[];
  legacyVersion: number;
  /** From supported_versions (TLS 1.3 clients); empty when absent. */
  supportedVersions: number[];
  /** Bytes of the records that carried the ClientHello. */
  recordBytes: number;
}

export type ClientHelloResult =
  | ClientHello
  | { kind: 'incomplete' }
  | { kind: 'invalid'; reason: string };

export const DEFAULT_MAX_HELLO_BYTES = 64 * 1024;

const RECORD_HEADER = 5;
const MAX_RECORD = 16_384;
const CONTENT_HANDSHAKE = 22;
const HANDSHAKE_CLIENT_HELLO = 1;
const EXT_SERVER_NAME = 0x0000;
const EXT_ALPN = 0x0010;
const EXT_SUPPORTED_VERSIONS = 0x002b;

class Reader {
  readonly buf: Buffer;
  pos: number;
  readonly end: number;

  constructor(buf: Buffer, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }

  left(): number {
    return this.end - this.pos;
  }

  u8(): number {
    if (this.left() < 1) throw new HelloError('truncated');
    return this.buf[this.pos++] ?? 0;
  }

  u16(): number {
    if (this.left() < 2) throw new HelloError('truncated');
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  skip(n: number): void {
    if (this.left() < n) throw new HelloError('truncated');
    this.pos += n;
  }

  /** A sub-reader over the next n bytes. */
  sub(n: number): Reader {
    if (this.left() < n) throw new HelloError('truncated');
    const r = new Reader(this.buf, this.pos, this.pos + n);
    this.pos += n;
    return r;
  }
}

class HelloError extends Error {}

function parseServerName(r: Reader): string | undefined {
  const list = r.sub(r.u16());
  let name: string | undefined;
  while (list.left() > 0) {
    const type = list.u8();
    const len = list.u16();
    const value = list.sub(len);
    if (type === 0 && name === undefined) {
      if (len === 0 || len > 255) throw new HelloError('bad server_name length');
      const bytes = value.buf.subarray(value.pos, value.end);
      if (!bytes.every((b) => b > 0x20 && b < 0x7f)) throw new HelloError('server_name is not printable ASCII');
      name = bytes.toString('latin1').toLowerCase();
    }
  }
  if (r.left() !== 0) throw new HelloError('trailing bytes in server_name');
  return name;
}

function parseAlpn(r: Reader): string[] {
  const list = r.sub(r.u16());
  const out: string[] = [];
  if (list.left() === 0) throw new HelloError('empty ALPN list');
  while (list.left() > 0) {
    const len = list.u8();
    if (len === 0) throw new HelloError('empty ALPN protocol name');
    const p = list.sub(len);
    out.push(p.buf.subarray(p.pos, p.end).toString('latin1'));
  }
  if (r.left() !== 0) throw new HelloError('trailing bytes in ALPN');
  return out;
}

function parseSupportedVersions(r: Reader): number[] {
  const len = r.u8();
  if (len % 2 !== 0) throw new HelloError('odd supported_versions length');
  const list = r.sub(len);
  const out: number[] = [];
  while (list.left() > 0) out.push(list.u16());
  return out;
}

function parseBody(body: Reader, recordBytes: number): ClientHello {
  const legacyVersion = body.u16();
  body.skip(32);
  const sessionIdLen = body.u8();
  if (sessionIdLen > 32) throw new HelloError('session_id too long');
  body.skip(sessionIdLen);
  const suitesLen = body.u16();
  if (suitesLen < 2 || suitesLen % 2 !== 0) throw new HelloError('bad cipher_suites length');
  body.skip(suitesLen);
  const compressionLen = body.u8();
  if (compressionLen < 1) throw new HelloError('no compression methods');
  body.skip(compressionLen);
  const hello: ClientHello = {
    kind: 'hello', serverName: undefined, alpn: [], legacyVersion, supportedVersions: [], recordBytes,
  };
  if (body.left() === 0) return hello;
  const exts = body.sub(body.u16());
  if (body.left() !== 0) throw new HelloError('trailing bytes after extensions');
  const seen = new Set<number>();
  while (exts.left() > 0) {
    const type = exts.u16();
    const data = exts.sub(exts.u16());
    if (seen.has(type)) throw new HelloError(`duplicate extension ${type}`);
    seen.add(type);
    if (type === EXT_SERVER_NAME) hello.serverName = parseServerName(data);
    else if (type === EXT_ALPN) hello.alpn = parseAlpn(data);
    else if (type === EXT_SUPPORTED_VERSIONS) hello.supportedVersions = parseSupportedVersions(data);
  }
  return hello;
}

/**
 * Parses the bytes received so far. 'incomplete' = call again with more bytes; 'invalid' = not a TLS ClientHello
 * (the caller passes the connection on and lets the TLS server reject it).
 */
export function parseClientHello(data: Buffer, maxHelloBytes = DEFAULT_MAX_HELLO_BYTES): ClientHelloResult {
  const fragments: Buffer[] = [];
  let handshakeLen = 0;
  let pos = 0;
  let needed = -1;
  try {
    for (;;) {
      if (data.length - pos < 1) return { kind: 'incomplete' };
      if (data[pos] !== CONTENT_HANDSHAKE) return { kind: 'invalid', reason: 'first record is not a handshake record' };
      if (data.length - pos < 2) return { kind: 'incomplete' };
      if (data[pos + 1] !== 3) return { kind: 'invalid', reason: 'record version is not 3.x' };
      if (data.length - pos < RECORD_HEADER) return { kind: 'incomplete' };
      const recordLen = data.readUInt16BE(pos + 3);
      if (recordLen === 0 || recordLen > MAX_RECORD) return { kind: 'invalid', reason: `bad record length ${recordLen}` };
      const available = Math.min(recordLen, data.length - pos - RECORD_HEADER);
      fragments.push(data.subarray(pos + RECORD_HEADER, pos + RECORD_HEADER + available));
      handshakeLen += available;
      if (needed < 0 && handshakeLen >= 1) {
        const first = fragments[0]?.[0];
        if (first !== HANDSHAKE_CLIENT_HELLO) return { kind: 'invalid', reason: 'first handshake message is not ClientHello' };
      }
      if (needed < 0 && handshakeLen >= 4) {
        const head = Buffer.concat(fragments).subarray(0, 4);
        needed = 4 + head.readUIntBE(1, 3);
        if (needed > maxHelloBytes) return { kind: 'invalid', reason: `ClientHello larger than ${maxHelloBytes} bytes` };
      }
      if (needed >= 0 && handshakeLen >= needed) {
        const hs = Buffer.concat(fragments);
        return parseBody(new Reader(hs, 4, needed), pos + RECORD_HEADER + recordLen);
      }
      if (available < recordLen) return { kind: 'incomplete' };
      pos += RECORD_HEADER + recordLen;
    }
  } catch (e) {
    if (e instanceof HelloError) return { kind: 'invalid', reason: e.message };
    throw e;
  }
}
