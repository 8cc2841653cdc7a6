// A node:http upstream on 127.0.0.1 (port 0) with a few fixed routes, counting requests, connections and hits.
// Not a fixture app for php/uwsgi behaviour: it is the plain HTTP peer for proxy tests.
//
// Routes: /echo[/...] JSON of the request (with the connection number, to prove reuse); /bytes/N pattern body
// (?chunked=1: no Content-Length); /slow?ms=&chunks=&headerMs=; /status/N; /cache?cc=&etag=&key=; /close (socket
// destroyed, no response); /ws WebSocket echo; anything else 404. A custom handler runs first.

import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { patternBlock, patternBlockSize } from './pattern.ts';
import { registerCleanup } from './daemon.ts';
import { acceptWebSocketEcho } from './websocket-echo.ts';

export type OriginHandler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => boolean | Promise<boolean>;

export interface OriginOptions {
  /** Runs before the built-in routes; return true when it answered. */
  readonly handler?: OriginHandler;
  /** Port on 127.0.0.1 (default 0: any free port); a fixed one lets a stopped peer come back at its address. */
  readonly port?: number;
}

export interface Origin {
  readonly port: number;
  /** '127.0.0.1:port', as nginx writes an upstream peer. */
  readonly address: string;
  readonly url: string;
  readonly server: Server;
  /** Requests received (upgrades included) since start or reset(). */
  readonly requests: number;
  /** TCP connections accepted since start or reset(). */
  readonly connections: number;
  readonly openConnections: number;
  /** Requests received for a path (without query) since start or reset(). */
  hits(path: string): number;
  reset(): void;
  stop(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

function json(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = Buffer.from(JSON.stringify(value) + '\n');
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': body.length, ...headers });
  res.end(body);
}

async function writePattern(res: ServerResponse, size: number): Promise<void> {
  const block = patternBlock();
  for (let off = 0; off < size; off += patternBlockSize) {
    const ok = res.write(block.subarray(0, Math.min(patternBlockSize, size - off)));
    if (!ok) await new Promise<void>((r) => res.once('drain', () => r()));
    if (res.destroyed) return;
  }
  res.end();
}

export async function startOrigin(options: OriginOptions = {}): Promise<Origin> {
  let requests = 0;
  let connections = 0;
  let nextConnectionId = 0;
  const hitCounts = new Map<string, number>();
  const cacheHits = new Map<string, number>();
  const sockets = new Set<Socket | Duplex>();
  const connectionIds = new WeakMap<object, number>();

  const count = (req: IncomingMessage): URL => {
    requests++;
    const url = new URL(req.url ?? '/', 'http://origin.invalid');
    hitCounts.set(url.pathname, (hitCounts.get(url.pathname) ?? 0) + 1);
    return url;
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = count(req);
    const body = await readBody(req);
    if (options.handler && (await options.handler(req, res, body))) return;
    const q = url.searchParams;
    const path = url.pathname;
    if (path === '/echo' || path.startsWith('/echo/')) {
      json(res, 200, {
        method: req.method,
        url: req.url,
        path,
        query: Object.fromEntries(q),
        httpVersion: req.httpVersion,
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        bodyLength: body.length,
        bodyMd5: createHash('md5').update(body).digest('hex'),
        remoteAddress: req.socket.remoteAddress,
        remotePort: req.socket.remotePort,
        connection: connectionIds.get(req.socket),
      });
      return;
    }
    const bytes = /^\/bytes\/(\d+)$/.exec(path);
    if (bytes) {
      const size = Number(bytes[1]);
      const headers: Record<string, string | number> = { 'content-type': 'application/octet-stream' };
      if (q.get('chunked') !== '1') headers['content-length'] = size;
      res.writeHead(200, headers);
      if (req.method === 'HEAD') res.end();
      else await writePattern(res, size);
      return;
    }
    if (path === '/slow') {
      const ms = Number(q.get('ms') ?? 1000);
      const chunks = Number(q.get('chunks') ?? 0);
      await sleep(Number(q.get('headerMs') ?? (chunks > 0 ? 0 : ms)));
      if (chunks <= 0) {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(`slept ${ms}\n`);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' });
      for (let i = 0; i < chunks && !res.destroyed; i++) {
        await sleep(ms);
        res.write(`chunk ${i}\n`);
      }
      res.end();
      return;
    }
    const status = /^\/status\/(\d{3})$/.exec(path);
    if (status) {
      const code = Number(status[1]);
      if (code === 204 || code === 304) res.writeHead(code).end();
      else {
        res.writeHead(code, { 'content-type': 'text/plain' });
        res.end(`status ${code}\n`);
      }
      return;
    }
    if (path === '/cache') {
      const key = q.get('key') ?? 'default';
      const hits = (cacheHits.get(key) ?? 0) + 1;
      cacheHits.set(key, hits);
      const headers: Record<string, string> = { 'x-backend-hits': String(hits) };
      if (q.has('cc')) headers['cache-control'] = q.get('cc')!;
      if (q.has('xae')) headers['x-accel-expires'] = q.get('xae')!;
      const etag = q.get('etag');
      if (etag !== null) {
        headers.etag = `"${etag}"`;
        if (req.headers['if-none-match'] === `"${etag}"`) {
          res.writeHead(304, headers).end();
          return;
        }
      }
      json(res, Number(q.get('status') ?? 200), { key, hits, time: Date.now() }, headers);
      return;
    }
    if (path === '/close') {
      req.socket.destroy();
      return;
    }
    json(res, 404, { error: 'not found', path });
  };

  const server = createServer((req, res) => {
    route(req, res).catch((err: unknown) => {
      if (!res.headersSent) json(res, 500, { error: String(err) });
      else res.destroy();
    });
  });
  server.on('connection', (socket: Socket) => {
    connections++;
    connectionIds.set(socket, ++nextConnectionId);
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = count(req);
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    if (url.pathname !== '/ws') {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    acceptWebSocketEcho(req, socket, head);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: options.port ?? 0 }, () => resolve());
  });
  const bound = server.address();
  if (bound === null || typeof bound === 'string') throw new Error('origin: no TCP address');
  const port = bound.port;
  server.unref();
  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      unregister();
      if (!server.listening) return resolve();
      server.close(() => resolve());
      server.closeAllConnections();
      for (const s of sockets) s.destroy();
    });
  const unregister = registerCleanup(stop);

  return {
    port,
    address: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    server,
    get requests() {
      return requests;
    },
    get connections() {
      return connections;
    },
    get openConnections() {
      let open = 0;
      for (const s of sockets) if (!s.destroyed) open++;
      return open;
    },
    hits(path) {
      return hitCounts.get(path) ?? 0;
    },
    reset() {
      requests = 0;
      connections = 0;
      hitCounts.clear();
      cacheHits.clear();
    },
    stop,
  };
}
