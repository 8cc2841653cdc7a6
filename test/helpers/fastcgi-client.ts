// A tiny FastCGI responder client for tests: sequential requests on one connection, each response buffered whole.
// Not Portico's FastCGI upstream and not a reference implementation: no multiplexing, no streaming.

import { connect, type Socket } from 'node:net';
import { connectOptions } from './address.ts';

export interface FastcgiResponse {
  readonly status: number;
  /** CGI response headers in order, names as sent; the Status header is consumed into status. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: Buffer;
  /** FCGI_STDERR stream (PHP's error_log() without an error_log file). */
  readonly stderr: string;
  readonly appStatus: number;
}

export interface FastcgiRequestOptions {
  readonly body?: Buffer | string;
  readonly timeoutMs?: number;
}

const VERSION = 1;
const BEGIN_REQUEST = 1;
const END_REQUEST = 3;
const PARAMS = 4;
const STDIN = 5;
const STDOUT = 6;
const STDERR = 7;
const RESPONDER = 1;
const KEEP_CONN = 1;
const REQUEST_ID = 1;
const MAX_CONTENT = 0xffff;

function record(type: number, content: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt8(VERSION, 0);
  header.writeUInt8(type, 1);
  header.writeUInt16BE(REQUEST_ID, 2);
  header.writeUInt16BE(content.length, 4);
  return Buffer.concat([header, content]);
}

function records(type: number, data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i += MAX_CONTENT) out.push(record(type, data.subarray(i, i + MAX_CONTENT)));
  out.push(record(type, Buffer.alloc(0)));
  return out;
}

function nameValueLength(n: number): Buffer {
  if (n < 128) return Buffer.from([n]);
  const b = Buffer.alloc(4);
  b.writeUInt32BE((n | 0x80000000) >>> 0);
  return b;
}

export function encodeParams(params: Readonly<Record<string, string>>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(params)) {
    const n = Buffer.from(name);
    const v = Buffer.from(value);
    parts.push(nameValueLength(n.length), nameValueLength(v.length), n, v);
  }
  return Buffer.concat(parts);
}

function parseCgiResponse(stdout: Buffer): { status: number; headers: Array<[string, string]>; body: Buffer } {
  let end = stdout.indexOf('\r\n\r\n');
  let sepLength = 4;
  const lf = stdout.indexOf('\n\n');
  if (lf !== -1 && (end === -1 || lf < end)) {
    end = lf;
    sepLength = 2;
  }
  if (end === -1) return { status: 200, headers: [], body: stdout };
  const headers: Array<[string, string]> = [];
  let status = 200;
  for (const line of stdout.subarray(0, end).toString('latin1').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
    else headers.push([name, value]);
  }
  return { status, headers, body: stdout.subarray(end + sepLength) };
}

interface Pending {
  readonly resolve: (r: FastcgiResponse) => void;
  readonly reject: (e: Error) => void;
  readonly stdout: Buffer[];
  readonly stderr: Buffer[];
}

/** One FastCGI connection carrying sequential requests; keepConn sets FCGI_KEEP_CONN so the peer keeps it open. */
export class FastcgiConnection {
  readonly address: string;
  private readonly socket: Socket;
  private readonly connected: Promise<void>;
  private pending: Pending | undefined;
  private buffered: Buffer = Buffer.alloc(0);
  private closedError: Error | undefined;
  private closedFlag = false;

  constructor(address: string, timeoutMs = 10_000) {
    this.address = address;
    this.socket = connect(connectOptions(address));
    this.socket.setTimeout(timeoutMs, () => this.fail(new Error(`FastCGI connection to ${address} timed out`)));
    this.connected = new Promise((resolve, reject) => {
      this.socket.once('connect', () => resolve());
      this.socket.once('error', reject);
    });
    this.connected.catch(() => undefined);
    this.socket.on('error', (err) => this.fail(err));
    this.socket.on('close', () => {
      this.closedFlag = true;
      this.fail(new Error(`FastCGI connection to ${address} closed before END_REQUEST`));
    });
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  async request(
    params: Readonly<Record<string, string>>,
    options: FastcgiRequestOptions & { readonly keepConn?: boolean } = {},
  ): Promise<FastcgiResponse> {
    if (this.pending) throw new Error('FastcgiConnection carries one request at a time');
    if (this.closedError) throw this.closedError;
    await this.connected;
    const body = typeof options.body === 'string' ? Buffer.from(options.body) : (options.body ?? Buffer.alloc(0));
    const begin = Buffer.alloc(8);
    begin.writeUInt16BE(RESPONDER, 0);
    begin.writeUInt8(options.keepConn ? KEEP_CONN : 0, 2);
    const payload = [record(BEGIN_REQUEST, begin), ...records(PARAMS, encodeParams(params)), ...records(STDIN, body)];
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject, stdout: [], stderr: [] };
      for (const buf of payload) this.socket.write(buf);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private fail(err: Error): void {
    this.closedError ??= err;
    this.socket.destroy();
    const p = this.pending;
    this.pending = undefined;
    p?.reject(err);
  }

  private onData(chunk: Buffer): void {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    while (this.buffered.length >= 8) {
      const type = this.buffered.readUInt8(1);
      const contentLength = this.buffered.readUInt16BE(4);
      const paddingLength = this.buffered.readUInt8(6);
      const total = 8 + contentLength + paddingLength;
      if (this.buffered.length < total) return;
      const content = this.buffered.subarray(8, 8 + contentLength);
      this.buffered = this.buffered.subarray(total);
      const p = this.pending;
      if (!p) continue;
      if (type === STDOUT) p.stdout.push(content);
      else if (type === STDERR) p.stderr.push(content);
      else if (type === END_REQUEST) {
        this.pending = undefined;
        const parsed = parseCgiResponse(Buffer.concat(p.stdout));
        p.resolve({ ...parsed, stderr: Buffer.concat(p.stderr).toString('utf8'), appStatus: content.readUInt32BE(0) });
      }
    }
  }
}

/** One request on a fresh connection without FCGI_KEEP_CONN; the connection is closed afterwards. */
export async function fastcgiRequest(
  address: string,
  params: Readonly<Record<string, string>>,
  options: FastcgiRequestOptions = {},
): Promise<FastcgiResponse> {
  const conn = new FastcgiConnection(address, options.timeoutMs);
  try {
    return await conn.request(params, options);
  } finally {
    conn.close();
  }
}
