// Ceiling proxy for the FastCGI and uwsgi scenarios: the least Node 24 does to relay a GET to php-fpm or uWSGI
// behind node:http, one backend connection per request as the benchmark's nginx config does: the stock
// fastcgi_params / uwsgi_params variables encoded with Portico's own codecs, the whole answer read until the
// backend closes, then status, Content-Type and the body. The params are the direct client's
// (load/backend-params.ts: the stock files with fixed values for nginx's variables) plus the request's headers.
// Not Portico: no config, no streaming, no error pages, no request bodies, no timeouts.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { NameValue } from '../../src/protocols/name-value-input.ts';
import { encodeRequestHead } from '../../src/protocols/fastcgi/request-head.ts';
import { encodeStdinEnd } from '../../src/protocols/fastcgi/stdin.ts';
import { FastCgiResponseDecoder } from '../../src/protocols/fastcgi/response-decoder.ts';
import { encodeUwsgiPacket } from '../../src/protocols/uwsgi/packet.ts';
import { stockParams } from '../load/backend-params.ts';
import { ceilingArgs } from './args.ts';

const args = ceilingArgs(process.argv.slice(2));
if (!args.origin || !args.protocol) throw new Error('--origin unix:/path|host:port and --protocol fastcgi|uwsgi are required');
const origin = args.origin;
const protocol = args.protocol;
const script = args.script ?? '';
const stdinEnd = encodeStdinEnd();

function dial(): Socket {
  if (origin.startsWith('unix:')) return connect({ path: origin.slice(5) });
  const colon = origin.lastIndexOf(':');
  return connect({ host: origin.slice(0, colon), port: Number(origin.slice(colon + 1)), noDelay: true });
}

const stockByUrl = new Map<string, NameValue[]>();

/** Debian's stock params for the URL (the direct client's, built once per URL), then the request's headers. */
function variables(req: IncomingMessage): NameValue[] {
  const url = req.url ?? '/';
  let stock = stockByUrl.get(url);
  if (stock === undefined) stockByUrl.set(url, (stock = stockParams(protocol, url, script === '' ? [] : [['SCRIPT_FILENAME', script]], args.port)));
  const vars = [...stock];
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toUpperCase().replaceAll('-', '_');
    if (name !== 'HOST') vars.push([`HTTP_${name}`, raw[i + 1]!]);
  }
  return vars;
}

function answer(res: ServerResponse, head: Buffer, body: Buffer): void {
  const text = head.toString('latin1');
  let status = 200;
  let type = 'text/html';
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (line.startsWith('HTTP/')) status = Number(line.slice(9, 12));
    else if (colon > 0 && line.slice(0, colon).toLowerCase() === 'status') status = Number(line.slice(colon + 1).trim().slice(0, 3));
    else if (colon > 0 && line.slice(0, colon).toLowerCase() === 'content-type') type = line.slice(colon + 1).trim();
  }
  res.writeHead(status, { 'content-type': type, 'content-length': body.length });
  res.end(body);
}

function relay(req: IncomingMessage, res: ServerResponse): void {
  const socket = dial();
  const chunks: Buffer[] = [];
  let decoder: FastCgiResponseDecoder | null = null;
  if (protocol === 'fastcgi') {
    decoder = new FastCgiResponseDecoder({ stdout: (d) => chunks.push(d), stderr: () => {}, end: () => {}, error: () => socket.destroy() });
    socket.on('data', (d: Buffer) => decoder!.push(d));
  } else {
    socket.on('data', (d: Buffer) => chunks.push(d));
  }
  socket.on('connect', () => {
    const vars = variables(req);
    if (protocol === 'fastcgi') {
      socket.cork();
      socket.write(encodeRequestHead(vars, { keepConn: false }));
      socket.write(stdinEnd);
      socket.uncork();
    } else {
      const r = encodeUwsgiPacket(vars);
      if (!r.ok) return void socket.destroy();
      socket.write(r.packet);
    }
  });
  socket.on('end', () => {
    socket.destroy();
    const all = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    const split = all.indexOf('\r\n\r\n');
    if (split < 0) return void res.writeHead(502).end();
    answer(res, all.subarray(0, split), all.subarray(split + 4));
  });
  socket.on('error', () => {
    if (!res.headersSent) res.writeHead(502).end();
  });
}

const server = createServer({ keepAliveTimeout: 120_000 }, relay);
server.listen(args.port, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
