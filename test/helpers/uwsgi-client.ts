// A tiny uwsgi-protocol client for tests: one packet (modifier1 0, WSGI vars) plus body, the response read to close.
// Not Portico's uwsgi upstream: no streaming, no chunked response decoding, vars limited to 64 KiB.

import { connect } from 'node:net';
import { connectOptions } from './address.ts';

export interface UwsgiResponse {
  readonly status: number;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: Buffer;
}

export interface UwsgiRequestOptions {
  readonly body?: Buffer | string;
  readonly timeoutMs?: number;
}

export function encodeUwsgiPacket(vars: Readonly<Record<string, string>>): Buffer {
  const parts: Buffer[] = [];
  for (const [key, value] of Object.entries(vars)) {
    const k = Buffer.from(key);
    const v = Buffer.from(value);
    const kl = Buffer.alloc(2);
    kl.writeUInt16LE(k.length);
    const vl = Buffer.alloc(2);
    vl.writeUInt16LE(v.length);
    parts.push(kl, k, vl, v);
  }
  const data = Buffer.concat(parts);
  if (data.length > 0xffff) throw new Error(`uwsgi vars block of ${data.length} bytes exceeds 65535`);
  const header = Buffer.alloc(4);
  header.writeUInt8(0, 0);
  header.writeUInt16LE(data.length, 1);
  header.writeUInt8(0, 3);
  return Buffer.concat([header, data]);
}

function parseHttpResponse(raw: Buffer): UwsgiResponse {
  const end = raw.indexOf('\r\n\r\n');
  if (end === -1) throw new Error(`uwsgi response without a header block: ${raw.subarray(0, 200).toString('latin1')}`);
  const lines = raw.subarray(0, end).toString('latin1').split('\r\n');
  const statusLine = /^HTTP\/\d\.\d (\d{3})/.exec(lines[0] ?? '');
  if (!statusLine) throw new Error(`uwsgi response with a bad status line: ${lines[0]}`);
  const headers: Array<[string, string]> = [];
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  }
  return { status: Number(statusLine[1]), headers, body: raw.subarray(end + 4) };
}

export function uwsgiRequest(
  address: string,
  vars: Readonly<Record<string, string>>,
  options: UwsgiRequestOptions = {},
): Promise<UwsgiResponse> {
  const body = typeof options.body === 'string' ? Buffer.from(options.body) : (options.body ?? Buffer.alloc(0));
  const packet = encodeUwsgiPacket(vars);
  return new Promise((resolve, reject) => {
    const socket = connect(connectOptions(address));
    const chunks: Buffer[] = [];
    let settled = false;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      reject(err);
    };
    socket.setTimeout(options.timeoutMs ?? 10_000, () => fail(new Error(`uwsgi request to ${address} timed out`)));
    socket.once('error', fail);
    socket.once('connect', () => {
      socket.write(packet);
      if (body.length) socket.write(body);
    });
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('end', () => {
      if (settled) return;
      settled = true;
      socket.destroy();
      try {
        resolve(parseHttpResponse(Buffer.concat(chunks)));
      } catch (err) {
        reject(err as Error);
      }
    });
  });
}
